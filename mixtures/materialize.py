"""The Spark side of a build: read and tokenize the sources, collect token counts, write the shards.

Tokenization runs once, per partition, inside `mapInArrow` (the tokenizer is loaded once per Python
worker from broadcast bytes); its output is persisted and reused. The driver only collects
(doc id, key, content hash, token count) per document to plan. Shards are filled by a join of the
tokenized documents with the plan: executors slice each document into its pieces and the driver writes
each piece at the offset the plan gave it, so the bytes do not depend on partitioning or arrival order.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataforge.core.errors import ForgeError
from mixtures.format import MASK_DTYPE, TOKEN_DTYPE
from mixtures.pairs import FIELDS as PAIR_FIELDS
from mixtures.pairs import tokenize_preference_batches
from mixtures.plan import Plan, SourceDocs
from mixtures.sources import ResolvedSource
from mixtures.templates import ChatSettings
from mixtures.tokenize import TOKENIZED_DDL, tokenize_chat_batches, tokenize_text_batches
from mixtures.tokenizer import TokenizerInfo

PIECE_TYPE = pa.struct([("file", pa.int32()), ("offset", pa.int64()), ("start", pa.int64()), ("length", pa.int32())])
SLICED_DDL = "file int, offset long, tokens binary, mask binary"
DRIVER_CHUNK_BYTES = 256 << 20


def _read(spark, rs: ResolvedSource):
    from pyspark.sql import functions as F

    uris = [Path(f).as_uri() for f in rs.files]
    if rs.kind == "completion":  # parsed and checked in Python, like chat (mixtures/completions.py)
        if rs.format == "json":
            return spark.read.text(uris)
        df = spark.read.option("mergeSchema", "true").parquet(*uris)
        return df.select(*[c for c in ("id", "prompt", "completion") if c in df.columns])
    if rs.kind in ("chat", "preference"):
        # Whole records, parsed and checked in Python (mixtures/chat_input.py): a message field the template
        # would drop must quarantine the record, so nothing is projected away here. mergeSchema: a field
        # present in only some files must not vanish with the schema of the others.
        if rs.format == "json":
            return spark.read.text(uris)
        df = spark.read.option("mergeSchema", "true").parquet(*uris)
        keep = ("id", "messages", "chat_template_kwargs", "tools") if rs.kind == "chat" else PAIR_FIELDS
        return df.select(*[c for c in keep if c in df.columns])
    df = spark.read.parquet(*uris) if rs.format == "parquet" else spark.read.json(uris)
    doc_id = F.col("id").cast("string") if "id" in set(df.columns) else F.lit(None).cast("string")
    return df.select(doc_id.alias("id"), F.col("text").cast("string").alias("text"))


def _text_fn(bc, src: int, source: str, eos_id: int | None):
    def fn(batches):
        return tokenize_text_batches(batches, src=src, source=source, payload=bc.value, eos_id=eos_id)
    return fn


def _chat_fn(bc, src: int, source: str, settings: dict | None):
    def fn(batches):
        return tokenize_chat_batches(batches, src=src, source=source, payload=bc.value, settings=settings)
    return fn


def _completion_fn(bc, src: int, source: str, eos_id: int | None, settings: dict | None):
    def fn(batches):
        from mixtures.completions import tokenize_completion_batches

        return tokenize_completion_batches(batches, src=src, source=source, payload=bc.value, eos_id=eos_id,
                                           settings=settings)
    return fn


def _pair_fn(bc, src: int, source: str):
    def fn(batches):
        return tokenize_preference_batches(batches, src=src, source=source, payload=bc.value)
    return fn


def tokenize_sources(spark, sources: dict[str, ResolvedSource], tok: TokenizerInfo, append_eos: bool,
                     partitions: int | None = None, chat: dict[str, ChatSettings] | None = None):
    """One persisted DataFrame (TOKENIZED_DDL) over all sources; `src` is the source's index in sorted names.
    `chat`: the chat settings of chat and completion sources (None: the tokenizer's template)."""
    from pyspark import StorageLevel

    chat = chat or {}
    for n in sorted(n for n, s in sources.items() if s.kind == "chat"):
        if (chat[n].template if n in chat else tok.chat_template) is None:
            raise ForgeError(f"Mixture.tokenizer: {tok.path} has no chat template but source {n} holds chat "
                             "records; use a tokenizer with a chat template or set chat_template")
    bc = spark.sparkContext.broadcast(tok.payload())
    eos = tok.eos_id if append_eos else None
    if append_eos and eos is None:
        raise ForgeError(f"Mixture.append_eos: tokenizer {tok.name} has no EOS token; set append_eos=False")
    out = None
    for i, name in enumerate(sorted(sources)):
        rs = sources[name]
        df = _read(spark, rs)
        if partitions:
            df = df.repartition(partitions)
        settings = chat[name].payload() if name in chat else None
        if rs.kind == "text":
            fn = _text_fn(bc, i, name, eos)
        elif rs.kind == "completion":
            fn = _completion_fn(bc, i, name, eos, settings)
        elif rs.kind == "preference":
            fn = _pair_fn(bc, i, name)
        else:
            fn = _chat_fn(bc, i, name, settings)
        part = df.mapInArrow(fn, TOKENIZED_DDL)
        out = part if out is None else out.unionByName(part)
    return out.persist(StorageLevel.MEMORY_AND_DISK), bc


def collect_docs(tokenized, sources: dict[str, ResolvedSource]) -> tuple[dict[str, SourceDocs], list[dict]]:
    """Per source, the documents sorted by key (duplicate ids resolved), and the quarantine rows."""
    names = sorted(sources)
    # One action: it also runs the tokenization (the result is persisted for the shard writing).
    meta = tokenized.select("src", "doc_id", "key", "chash", "ntok", "reason", "split").toArrow()
    reasons = meta.column("reason")
    bad = meta.filter(reasons.is_valid()).select(["src", "doc_id", "reason"])
    meta = meta.filter(reasons.is_null())
    quarantine = [{"source": names[r["src"]], "id": r["doc_id"], "reason": r["reason"]} for r in bad.to_pylist()]
    src = meta.column("src").to_numpy()
    docs = {}
    for i, name in enumerate(names):
        sel = np.flatnonzero(src == i)
        keys = meta.column("key").to_numpy()[sel]
        chash = meta.column("chash").to_numpy()[sel]
        ntok = meta.column("ntok").to_numpy()[sel]
        split = meta.column("split").fill_null(0).to_numpy()[sel]
        ids = meta.column("doc_id").take(pa.array(sel)).to_pylist()
        order = np.lexsort((chash, keys))
        keys, chash, ntok, split, ids = keys[order], chash[order], ntok[order], split[order], [ids[j] for j in order]
        first = np.ones(len(keys), bool)
        first[1:] = keys[1:] != keys[:-1]
        for j in np.flatnonzero(~first):
            if ids[j] != ids[j - 1]:
                raise ForgeError(f"source {name}: record ids {ids[j]!r} and {ids[j - 1]!r} collide on a 64-bit key; "
                                 "rename one of them")
            quarantine.append({"source": name, "id": ids[j], "reason": "duplicate_id"})
        keep = np.flatnonzero(first)
        docs[name] = SourceDocs(name=name, kind=sources[name].kind, keys=keys[keep], chash=chash[keep],
                                ntok=ntok[keep].astype(np.int64), doc_ids=[ids[j] for j in keep],
                                split=split[keep].astype(np.int64) if sources[name].kind == "preference" else None)
    quarantine.sort(key=lambda r: (r["source"], r["id"] or "", r["reason"]))
    return docs, quarantine


def _plan_table(plan: Plan, docs: dict[str, SourceDocs]) -> pa.Table:
    """One row per used document: (src, key, chash, pieces[]) where each piece says where it goes."""
    names = sorted(docs)
    tables = [s["pieces"] for s in plan.stages] + [v["pieces"] for v in plan.validation.values()]
    cat = {f: np.concatenate([getattr(t, f) for t in tables]) for f in ("src", "doc", "file", "offset", "start", "length")}
    order = np.lexsort((cat["offset"], cat["file"], cat["doc"], cat["src"]))
    cat = {k: v[order] for k, v in cat.items()}
    new = np.ones(len(order), bool)
    new[1:] = (cat["src"][1:] != cat["src"][:-1]) | (cat["doc"][1:] != cat["doc"][:-1])
    heads = np.flatnonzero(new)
    src, doc = cat["src"][heads], cat["doc"][heads]
    keys = np.array([docs[names[s]].keys[d] for s, d in zip(src, doc, strict=True)], dtype=np.int64)
    chash = np.array([docs[names[s]].chash[d] for s, d in zip(src, doc, strict=True)], dtype=np.int64)
    pieces = pa.StructArray.from_arrays([pa.array(cat[f], type=PIECE_TYPE.field(f).type) for f in
                                        ("file", "offset", "start", "length")], fields=list(PIECE_TYPE))
    lists = pa.ListArray.from_arrays(pa.array(np.append(heads, len(order)).astype(np.int32)), pieces)
    return pa.table({"src": pa.array(src, pa.int32()), "key": pa.array(keys, pa.int64()),
                     "chash": pa.array(chash, pa.int64()), "pieces": lists})


def _slice_batches(batches):
    for batch in batches:
        rows = {"file": [], "offset": [], "tokens": [], "mask": []}
        toks, masks, plans = (batch.column(c).to_pylist() for c in ("tokens", "mask", "pieces"))
        for tb, mb, pieces in zip(toks, masks, plans, strict=True):
            for p in pieces:
                a, b = p["start"], p["start"] + p["length"]
                rows["file"].append(p["file"])
                rows["offset"].append(p["offset"])
                rows["tokens"].append(tb[a * 4:b * 4])
                rows["mask"].append(None if mb is None else mb[a:b])
        yield pa.RecordBatch.from_pydict(rows, schema=pa.schema([("file", pa.int32()), ("offset", pa.int64()),
                                                                 ("tokens", pa.binary()), ("mask", pa.binary())]))


def write_shards(spark, tokenized, plan: Plan, docs: dict[str, SourceDocs], root: Path, progress=None) -> None:
    """Fill every shard file of the plan under `root`; raises if any piece is missing."""
    from pyspark.sql import functions as F

    fds, mask_fds = [], []
    for f in plan.files:
        fds.append(_open_sized(root / f["tokens"], f["ntok"] * np.dtype(TOKEN_DTYPE).itemsize))
        mask_fds.append(_open_sized(root / f["mask"], f["ntok"] * np.dtype(MASK_DTYPE).itemsize) if f["mask"] else None)
    plan_df = spark.createDataFrame(_plan_table(plan, docs))
    joined = (tokenized.where(F.col("reason").isNull()).join(plan_df, on=["src", "key", "chash"], how="inner")
              .select("tokens", "mask", "pieces"))
    # toLocalIterator runs one job per partition: few partitions of bounded size keep the job count and
    # the driver's memory (one partition plus one prefetched) both small.
    total_bytes = sum(f["ntok"] for f in plan.files) * 5
    sliced = joined.mapInArrow(_slice_batches, SLICED_DDL).coalesce(max(1, -(-total_bytes // DRIVER_CHUNK_BYTES)))
    written = [0] * len(plan.files)
    seen: set[tuple[int, int]] = set()
    try:
        for row in sliced.toLocalIterator(prefetchPartitions=True):
            if (row.file, row.offset) in seen:  # an exact duplicate record: same bytes, written once
                continue
            seen.add((row.file, row.offset))
            n = len(row.tokens) // 4
            os.pwrite(fds[row.file], row.tokens, row.offset * 4)
            if mask_fds[row.file] is not None:
                os.pwrite(mask_fds[row.file], row.mask if row.mask is not None else b"\x01" * n, row.offset)
            written[row.file] += n
            if progress is not None:
                progress.advance(n)
    finally:
        for fd in fds + [m for m in mask_fds if m is not None]:
            os.close(fd)
    for f, n in zip(plan.files, written, strict=True):
        if n != f["ntok"]:
            raise ForgeError(f"{f['tokens']}: wrote {n} of {f['ntok']} tokens; a source changed during the build, "
                             "rerun it")


def _open_sized(path: Path, size: int) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.ftruncate(fd, size)
    return fd
