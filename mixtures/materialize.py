"""The Spark side of a build: read and tokenize the sources, collect token counts.

Tokenization runs once, per partition, inside `mapInArrow` (the tokenizer is loaded once per Python
worker from broadcast bytes); its output is persisted and reused by the shard writing
(`mixtures.shards`). The driver only collects (doc id, key, content hash, token count) per document to
plan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from dataforge.core.errors import ForgeError
from mixtures.pairs import FIELDS as PAIR_FIELDS
from mixtures.pairs import tokenize_preference_batches
from mixtures.plan import SourceDocs
from mixtures.sources import ResolvedSource
from mixtures.templates import ChatSettings
from mixtures.tokenize import TOKENIZED_DDL, tokenize_chat_batches, tokenize_text_batches
from mixtures.tokenizer import TokenizerInfo


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
        order = np.lexsort((chash, keys))
        ids = meta.column("doc_id").combine_chunks().take(pa.array(sel[order]))  # Arrow: no str per document
        keys, chash, ntok, split = keys[order], chash[order], ntok[order], split[order]
        first = np.ones(len(keys), bool)
        first[1:] = keys[1:] != keys[:-1]
        for j in np.flatnonzero(~first):  # duplicates only: rare, so Python per row is fine here
            a, b = ids[int(j)].as_py(), ids[int(j) - 1].as_py()
            if a != b:
                raise ForgeError(f"source {name}: record ids {a!r} and {b!r} collide on a 64-bit key; "
                                 "rename one of them")
            quarantine.append({"source": name, "id": a, "reason": "duplicate_id"})
        keep = np.flatnonzero(first)
        docs[name] = SourceDocs(name=name, kind=sources[name].kind, keys=keys[keep], chash=chash[keep],
                                ntok=ntok[keep].astype(np.int64), doc_ids=ids.take(pa.array(keep)),
                                split=split[keep].astype(np.int64) if sources[name].kind == "preference" else None)
    quarantine.sort(key=lambda r: (r["source"], r["id"] or "", r["reason"]))
    return docs, quarantine
