"""Shard files written by Spark executors: no token passes through the driver.

The tokenized documents are joined with the plan (one row per used document and its pieces), executors
slice each document into its pieces, and the pieces are partitioned by shard file and sorted by offset,
so each file is written whole, sequentially, by one task. A task writes a private temporary file and
renames it into place when the file is done, so a retried or speculative attempt leaves either nothing
or the same bytes. The driver only collects, per file, the tokens written and which process wrote them.

The staging folder must be on a filesystem every executor sees at the same path (as the registry is).
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa

from dataforge.core.errors import ForgeError
from mixtures.format import MASK_DTYPE, TOKEN_DTYPE
from mixtures.plan import Plan, SourceDocs

PIECE_TYPE = pa.struct([("file", pa.int32()), ("offset", pa.int64()), ("start", pa.int64()), ("length", pa.int32())])
SLICED_SCHEMA = pa.schema([("file", pa.int32()), ("offset", pa.int64()), ("tokens", pa.binary()), ("mask", pa.binary())])
SLICED_DDL = "file int, offset long, tokens binary, mask binary"
WRITTEN_DDL = "file int, ntok long, writer string"
PART_MARK = ".part-"  # temporary files of a writing task; a finished file never has it in its name
_TOKEN_BYTES = np.dtype(TOKEN_DTYPE).itemsize


def plan_table(plan: Plan, docs: dict[str, SourceDocs]) -> pa.Table:
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
    # every source's arrays end to end, so a (src, doc) pair is one vectorized lookup
    base = np.cumsum([0] + [len(docs[n].keys) for n in names])[:-1]
    at = base[src] + doc
    keys = np.concatenate([docs[n].keys for n in names]).astype(np.int64)[at]
    chash = np.concatenate([docs[n].chash for n in names]).astype(np.int64)[at]
    pieces = pa.StructArray.from_arrays([pa.array(cat[f], type=PIECE_TYPE.field(f).type) for f in
                                        ("file", "offset", "start", "length")], fields=list(PIECE_TYPE))
    lists = pa.ListArray.from_arrays(pa.array(np.append(heads, len(order)).astype(np.int32)), pieces)
    return pa.table({"src": pa.array(src, pa.int32()), "key": pa.array(keys, pa.int64()),
                     "chash": pa.array(chash, pa.int64()), "pieces": lists})


def slice_batches(batches):
    """Executor side: each document's tokens (and mask) cut into the pieces the plan gave it."""
    for batch in batches:
        rows = {"file": [], "offset": [], "tokens": [], "mask": []}
        toks, masks, plans = (batch.column(c).to_pylist() for c in ("tokens", "mask", "pieces"))
        for tb, mb, pieces in zip(toks, masks, plans, strict=True):
            for p in pieces:
                a, b = p["start"], p["start"] + p["length"]
                rows["file"].append(p["file"])
                rows["offset"].append(p["offset"])
                rows["tokens"].append(tb[a * _TOKEN_BYTES:b * _TOKEN_BYTES])
                rows["mask"].append(None if mb is None else mb[a:b])
        yield pa.RecordBatch.from_pydict(rows, schema=SLICED_SCHEMA)


class _FileWriter:
    """One shard file (tokens, and mask when the plan has one) being written by this task."""

    def __init__(self, root: Path, spec: dict):
        self.spec, self.tag = spec, f"{PART_MARK}{uuid.uuid4().hex}"
        self.paths = [root / spec["tokens"]] + ([root / spec["mask"]] if spec["mask"] else [])
        self.paths[0].parent.mkdir(parents=True, exist_ok=True)
        self.fds = [os.open(f"{p}{self.tag}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644) for p in self.paths]
        self.ntok, self.last = 0, -1

    def write(self, offset: int, tokens: bytes, mask: bytes | None) -> None:
        if offset == self.last:  # an exact duplicate record sliced twice: same bytes, written once
            return
        self.last = offset
        n = len(tokens) // _TOKEN_BYTES
        os.pwrite(self.fds[0], tokens, offset * _TOKEN_BYTES)
        if len(self.fds) > 1:
            os.pwrite(self.fds[1], mask if mask is not None else b"\x01" * n, offset * np.dtype(MASK_DTYPE).itemsize)
        self.ntok += n

    def close(self) -> int:
        for fd, p in zip(self.fds, self.paths, strict=True):
            os.fsync(fd)
            os.close(fd)
            os.replace(f"{p}{self.tag}", p)
        return self.ntok


def _writer_fn(files: list[dict], root: str):
    def fn(batches):
        writer = f"{socket.gethostname()}:{os.getpid()}"
        done: dict[int, int] = {}
        cur, cur_file = None, -1
        for batch in batches:
            cols = [batch.column(c).to_pylist() for c in ("file", "offset", "tokens", "mask")]
            for f, off, toks, mask in zip(*cols, strict=True):
                if f != cur_file:
                    if cur is not None:
                        done[cur_file] = cur.close()
                    cur, cur_file = _FileWriter(Path(root), files[f]), f
                cur.write(off, toks, mask)
        if cur is not None:
            done[cur_file] = cur.close()
        yield pa.RecordBatch.from_pydict({"file": list(done), "ntok": list(done.values()),
                                          "writer": [writer] * len(done)},
                                         schema=pa.schema([("file", pa.int32()), ("ntok", pa.int64()),
                                                           ("writer", pa.string())]))
    return fn


def write_shards(spark, tokenized, plan: Plan, docs: dict[str, SourceDocs], root: Path) -> list[str]:
    """Have executors write every shard file of the plan under `root`; raises if any piece is missing.
    Returns the processes that wrote them ("host:pid", sorted)."""
    from pyspark.sql import functions as F

    for f in plan.files:
        (root / f["tokens"]).parent.mkdir(parents=True, exist_ok=True)
    plan_df = spark.createDataFrame(plan_table(plan, docs))
    joined = (tokenized.where(F.col("reason").isNull()).join(plan_df, on=["src", "key", "chash"], how="inner")
              .select("tokens", "mask", "pieces"))
    sliced = (joined.mapInArrow(slice_batches, SLICED_DDL).repartition(max(1, len(plan.files)), "file")
              .sortWithinPartitions("file", "offset"))
    rows = sliced.mapInArrow(_writer_fn(plan.files, str(root)), WRITTEN_DDL).collect()
    for stale in root.rglob(f"*{PART_MARK}*"):  # a failed task attempt's leftovers, in this build's own folder
        stale.unlink()
    written = {r.file: r.ntok for r in rows}
    for i, f in enumerate(plan.files):
        if written.get(i, 0) != f["ntok"]:
            raise ForgeError(f"{f['tokens']}: wrote {written.get(i, 0)} of {f['ntok']} tokens; a source changed "
                             "during the build, rerun it")
    return sorted({r.writer for r in rows})
