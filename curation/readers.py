"""Input: JSONL or Parquet files on any filesystem, parsed without ever losing a line.

Every non-blank line (or Parquet row) becomes exactly one record: a parsed record, or a quarantined
one with its reason (`not_json`, `bad_utf8`, `too_deep`, `too_large`, `no_text`, ...; see parse.py).
A file that cannot be read to its end becomes a file fault (see filereaders.py, listing.py).
Positions are file + line number, independent of how Spark splits the files.

Plain JSONL goes through Spark's splittable text reader, lines kept as raw bytes (undecoded, so
invalid UTF-8 is seen rather than silently replaced); compressed JSONL and Parquet files are read
by one task per file (`curation.filereaders`), WARC files by one task per file or per byte range of
a large one (`curation.warc`).
"""

from __future__ import annotations

import math
from typing import Any

from curation.filereaders import FAULT, check_filesystems, make_file_reader
from curation.listing import (
    JSONL_EXT,
    PARQUET_EXT,
    FileFault,
    InputSet,
    compression_of,
    file_key,
    format_of,
    resolve_input,
)
from curation.parse import MAX_DOC_BYTES, blank_row, parse_object, parse_record
from curation.warc_split import SPLIT_BYTES, byte_ranges

__all__ = ["FAULT", "JSONL_EXT", "LINE_BITS", "MAX_DOC_BYTES", "PARQUET_EXT", "PARSED_DDL", "FileFault", "InputSet",
           "file_faults", "file_key", "read_summary", "format_of", "make_parser", "parse_object", "parse_record", "parsed_frame", "parsed_schema",
           "resolve_input"]

LINE_BITS = 40  # _node = file_index << 40 | line: unique, ordered like the input
TASK_BYTES = 64 << 20  # per-file tasks are packed up to about this many input bytes

PARSED_DDL = (
    "file_index int, block long, idx long, id string, source string, kind string, layout string, text string, "
    "record string, metadata string, status string, reason string, raw binary"
)


def _codec(uri: str, fmt: str) -> str | None:
    """How a file is read: None = Spark's text reader, else "parquet", "warc" or the compression codec."""
    return fmt if fmt in ("parquet", "warc") else compression_of(uri)


def parsed_frame(spark, inputs: list[InputSet], relpaths: list[str], text_field: str, max_bytes: int,
                 warc_split: int = SPLIT_BYTES):
    """One parsed row (PARSED_DDL) per line, Parquet row or WARC record of every input file, plus one
    `file_fault` row per file that could not be read to its end (`idx` = the records kept before the
    fault). A WARC file larger than `warc_split` bytes is read by one task per byte range of it."""
    from functools import reduce

    from pyspark.sql import functions as F

    listed = [(u, inp.fmt, s) for inp in inputs for u, s in zip(inp.files, inp.sizes, strict=True)]
    plain = [u for u, fmt, _ in listed if _codec(u, fmt) is None]
    tasks = [(i, u, codec, a, b) for i, (u, fmt, size) in enumerate(listed) if (codec := _codec(u, fmt))
             for a, b in (byte_ranges(size, warc_split) if codec == "warc" else [(0, None)])]
    frames = []
    if plain:
        files = {file_key(u): i for i, (u, _, _) in enumerate(listed)}
        df = spark.read.text(plain)
        raw = df.select(F.col("_metadata.file_path").alias("file_path"),
                        F.col("_metadata.file_block_start").alias("block"),
                        F.lit(-1).cast("long").alias("idx"), F.col("value").cast("binary").alias("value"))
        frames.append(raw.mapInArrow(make_parser(files, relpaths, text_field, max_bytes), PARSED_DDL))
    if tasks:
        check_filesystems([u for _, u, *_ in tasks])
        task_bytes = sum(listed[i][2] for i in {t[0] for t in tasks})
        slices = min(len(tasks), max(spark.sparkContext.defaultParallelism, math.ceil(task_bytes / TASK_BYTES)))
        ids = spark.range(0, len(tasks), 1, slices)
        frames.append(ids.mapInArrow(make_file_reader(tasks, relpaths, text_field, max_bytes), PARSED_DDL))
    return reduce(lambda a, b: a.unionByName(b), frames)


def read_summary(parsed) -> list[Any]:
    """One row per (file_index, block) of the parsed rows, in one Spark job: `n` (the last `idx` of its
    records), `records`, `blank` and `fault` (the (idx, reason, raw) of its file fault row, or None).
    Enough for both the file faults and the line numbers, so reading costs one small job for them."""
    from pyspark.sql import functions as F

    rec = F.col("status") != FAULT
    return (parsed.groupBy("file_index", "block")
            .agg(F.max(F.when(rec, F.col("idx"))).alias("n"), F.count(F.when(rec, 1)).alias("records"),
                 F.sum(F.when(F.col("status") == "blank", 1).otherwise(0)).alias("blank"),
                 F.max(F.when(~rec, F.struct("idx", "reason", "raw"))).alias("fault"))
            .collect())


def file_faults(parsed, uris: list[str], relpaths: list[str], summary: list[Any] | None = None
                ) -> list[tuple[str, FileFault]]:
    """(ledger name, fault) per file that could not be read to its end, sorted by name.

    A WARC file read by byte ranges may have a fault row per range (`block` = the range's start, where
    other fault rows have -1): the file gets one fault, the first range's, and its records kept are
    those the other ranges read. `summary`: `read_summary(parsed)`, when already collected.
    """
    summary = read_summary(parsed) if summary is None else summary
    first: dict[int, Any] = {}
    for r in sorted((r for r in summary if r["fault"] is not None), key=lambda r: (r["file_index"], r["block"])):
        first.setdefault(r["file_index"], r)
    kept = {f: int(r["fault"]["idx"]) for f, r in first.items()}
    for f in [f for f, r in first.items() if r["block"] >= 0]:  # ranged: the records every range read
        kept[f] = sum(int(r["records"]) for r in summary if r["file_index"] == f)
    faults = [(relpaths[f], FileFault(uris[f], r["fault"]["reason"],
                                      bytes(r["fault"]["raw"] or b"").decode("utf-8", "replace"), kept[f]))
              for f, r in first.items()]
    return sorted(faults, key=lambda nf: nf[0])


def make_parser(files: dict[str, int], relpaths: list[str], text_field: str, max_bytes: int):
    """The mapInArrow function that parses raw lines; numbers lines within each Spark split.

    `files` maps `file_key(uri)` to the file's index in `relpaths`.
    """

    def parse(batches):
        import pyarrow as pa

        counters: dict[tuple[int, int], int] = {}
        schema = parsed_schema()
        for batch in batches:
            cols = batch.to_pydict()
            rows = []
            for path, b, idx, raw in zip(cols["file_path"], cols["block"], cols["idx"], cols["value"], strict=True):
                f = files[file_key(path)]
                if idx < 0:  # JSONL: lines of a split arrive in order
                    idx = counters.get((f, b), 0)
                    counters[(f, b)] = idx + 1
                row = parse_record(raw, relpaths[f], text_field, max_bytes) or blank_row()
                row.update(file_index=f, block=b, idx=idx)
                rows.append(row)
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    return parse


def parsed_schema():
    import pyarrow as pa

    # `record`: the kind's fields as canonical JSON (see parse.py); `text`: what steps judge
    return pa.schema([
        ("file_index", pa.int32()), ("block", pa.int64()), ("idx", pa.int64()), ("id", pa.string()),
        ("source", pa.string()), ("kind", pa.string()), ("layout", pa.string()), ("text", pa.string()),
        ("record", pa.string()), ("metadata", pa.string()), ("status", pa.string()), ("reason", pa.string()),
        ("raw", pa.binary()),
    ])


_parsed_schema = parsed_schema  # the name curation.steps.fused imports
