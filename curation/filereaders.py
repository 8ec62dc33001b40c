"""Compressed JSONL and Parquet files, read executor-side: one bad file never fails the job.

Spark's own readers abort the whole job on one truncated `.gz`, one garbage Parquet footer or one
file whose schema does not merge with the others. Here each file is read by a task of its own with
pyarrow.fs (local, HDFS, S3) and a streaming decompressor, parsed as it is read, and a fault ends
that file only: the records before it stay ordinary records and one `file_fault` row names the file,
the reason (`truncated_gzip`, `corrupt_gzip`, `bad_parquet`, `schema_conflict`, `unreadable`, ...)
and how many records were kept. Plain JSONL stays on Spark's splittable text reader (see readers.py).

Parquet values become JSON values: binary is text when it is UTF-8; in `text`, `id`, `source`,
`messages` and `chat_template_kwargs` invalid UTF-8 quarantines the record as `bad_utf8`, elsewhere
(metadata) it is kept as `{"$base64": "..."}`. Timestamps and dates are ISO 8601 strings, decimals
strings, maps objects (or `[key, value]` pairs when keys are not strings); null fields are omitted.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Iterator
from typing import Any

from curation.parse import Reject, blank_row, guarded, parse_record, quarantine_row, strict_json

FAULT = "file_fault"  # the status of the one row that ends a file read only in part
CHUNK = 1 << 20
ROWS_PER_BATCH = 2048
STRICT_FIELDS = ("id", "source", "messages", "chat_template_kwargs")


def _local_path(uri: str) -> str | None:
    if uri.startswith("file://"):
        return uri[len("file://"):]
    return uri[len("file:"):] if uri.startswith("file:") else None


def open_file(uri: str, random_access: bool = False):
    """A pyarrow input stream (or random-access file) for a listed URI; s3a:// and s3n:// are s3://."""
    import pyarrow.fs as pafs

    local = _local_path(uri)
    if local is not None:
        fs, path = pafs.LocalFileSystem(), local
    else:
        scheme, rest = uri.split("://", 1)
        fs, path = pafs.FileSystem.from_uri(("s3" if scheme in ("s3a", "s3n") else scheme) + "://" + rest)
    # compression=None: pyarrow would otherwise decompress by extension, and hide where a stream broke
    return fs.open_input_file(path) if random_access else fs.open_input_stream(path, compression=None)


def _one_line(e: BaseException) -> str:
    msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return msg[:200]


def _fault(f: int, reason: str, detail: str, kept: int) -> dict[str, Any]:
    row = blank_row()
    row.update(status=FAULT, reason=reason, raw=detail.encode("utf-8", "replace"), file_index=f, block=-1, idx=kept)
    return row


def _chunks(stream, codec: str, faults: list[BaseException]) -> Iterator[bytes]:
    """Decompressed chunks; a fault is put in `faults` after every byte before it was yielded."""
    import bz2
    import gzip

    import pyarrow as pa

    try:
        if codec == "gzip":
            f = gzip.GzipFile(fileobj=stream, mode="rb")
        elif codec == "bz2":
            f = bz2.BZ2File(stream)
        else:  # zstd: not in this Python's stdlib; pyarrow's stream may hold back the last block on a fault
            f = pa.CompressedInputStream(stream, codec)
        # read1: one decompression step at a time; read() would drop what it had buffered when it raises
        read = f.read1 if hasattr(f, "read1") else f.read
        while chunk := read(CHUNK):
            yield chunk
    except Exception as e:  # noqa: BLE001 - EOFError, BadGzipFile, zlib.error, OSError: all end this file
        faults.append(e)


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Lines split as Hadoop's LineReader splits them (\\n, \\r\\n or \\r), without their terminator."""
    rest = b""
    for chunk in chunks:
        parts = (rest + chunk).splitlines(keepends=True)
        # a last part without \n may go on in the next chunk (a \r may be the first half of \r\n)
        rest = parts.pop() if parts and not parts[-1].endswith(b"\n") else b""
        for p in parts:
            yield p.rstrip(b"\r\n") if p.endswith(b"\r\n") else p[:-1]
    if rest:  # the last line without a terminator, or the partial line cut by a fault
        yield rest[:-1] if rest.endswith(b"\r") else rest


def _codec_fault(codec: str, e: BaseException) -> str:
    truncated = isinstance(e, EOFError) or "truncated" in str(e).lower()
    return f"{'truncated' if truncated else 'corrupt'}_{codec}"


def compressed_rows(f: int, uri: str, codec: str, source: str, text_field: str, max_bytes: int):
    """Parsed rows of one compressed JSONL file, then a fault row if it could not be read to its end."""
    try:
        stream = open_file(uri)
    except Exception as e:  # noqa: BLE001
        yield _fault(f, "unreadable", _one_line(e), 0)
        return
    faults: list[BaseException] = []
    kept = 0
    with stream:
        for idx, line in enumerate(_lines(_chunks(stream, codec, faults))):
            row = parse_record(line, source, text_field, max_bytes) or blank_row()
            kept += row["status"] != "blank"
            row.update(file_index=f, block=0, idx=idx)
            yield row
    if faults:
        yield _fault(f, _codec_fault(codec, faults[0]), _one_line(faults[0]), kept)


def _plain(v: Any, strict: bool) -> Any:
    """A Parquet value as a JSON value (see the module docstring)."""
    if v is None or isinstance(v, str | bool | int | float):
        return v
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            if strict:
                raise Reject("bad_utf8") from None
            return {"$base64": base64.b64encode(v).decode("ascii")}
    if isinstance(v, dict):
        return {k: _plain(x, strict) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # a Parquet map
            if all(isinstance(k, str) for k, _ in v):
                return {k: _plain(x, strict) for k, x in v}
            return [[_plain(k, strict), _plain(x, strict)] for k, x in v]
        return [_plain(x, strict) for x in v]
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal | dt.timedelta):
        return str(v)
    return str(v)


def _raw(row: dict[str, Any]) -> bytes:
    """What quarantine keeps of a Parquet row: its JSON (binary that is not UTF-8 as base64)."""
    try:
        return strict_json({k: _plain(v, False) for k, v in row.items() if v is not None}).encode("utf-8")
    except Exception:  # noqa: BLE001 - nothing better to keep than the row's position
        return b""


def parquet_row(row: dict[str, Any], source: str, text_field: str, max_bytes: int) -> dict[str, Any]:
    strict = (*STRICT_FIELDS, text_field)
    try:
        obj = {k: _plain(v, k in strict) for k, v in row.items() if v is not None}
    except Reject as r:
        return quarantine_row(r.reason, _raw(row), source=source)
    except Exception:  # noqa: BLE001
        return quarantine_row("parse_error", _raw(row), source=source)
    return guarded(obj, lambda: _raw(row), source, text_field, max_bytes)


def _is_text(t) -> bool:
    import pyarrow as pa

    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_null(t) or str(t) in ("string_view", "binary_view"))


def schema_conflict(schema, text_field: str) -> str | None:
    """Why a file's columns cannot be records (e.g. `text` is int64), or None."""
    import pyarrow as pa

    def ok_id(t):
        return _is_text(t) or pa.types.is_integer(t)

    def ok_messages(t):
        return pa.types.is_null(t) or ((pa.types.is_list(t) or pa.types.is_large_list(t))
                                       and pa.types.is_struct(t.value_type))

    for name, ok, want in ((text_field, _is_text, "string"), ("id", ok_id, "string or integer"),
                           ("source", ok_id, "string"), ("messages", ok_messages, "list<struct<role, content>>")):
        if name in schema.names:
            t = schema.field(name).type
            t = t.value_type if pa.types.is_dictionary(t) else t
            if not ok(t):
                return f"column `{name}` is {t}, expected {want}"
    return None


def _batch_rows(batch) -> list[dict[str, Any]]:
    """Rows of a record batch; a string column holding invalid UTF-8 is read as binary instead."""
    import pyarrow as pa

    try:
        return batch.to_pylist()
    except UnicodeDecodeError:
        views = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary()}
        cols = [c.view(views[c.type]) if c.type in views else c for c in batch.columns]
        return pa.RecordBatch.from_arrays(cols, names=batch.schema.names).to_pylist()


def parquet_rows(f: int, uri: str, source: str, text_field: str, max_bytes: int):
    """Parsed rows of one Parquet file (idx = row index), then a fault row if it could not be read."""
    import pyarrow.parquet as pq

    kept = 0
    try:
        src = open_file(uri, random_access=True)
    except Exception as e:  # noqa: BLE001
        yield _fault(f, "unreadable", _one_line(e), 0)
        return
    with src:
        try:
            pf = pq.ParquetFile(src)
        except Exception as e:  # noqa: BLE001 - missing or garbage footer, not Parquet at all
            yield _fault(f, "bad_parquet", _one_line(e), 0)
            return
        conflict = schema_conflict(pf.schema_arrow, text_field)
        if conflict:
            yield _fault(f, "schema_conflict", conflict, 0)
            return
        try:
            for batch in pf.iter_batches(batch_size=ROWS_PER_BATCH):
                for row in _batch_rows(batch):
                    out = parquet_row(row, source, text_field, max_bytes)
                    out.update(file_index=f, block=0, idx=kept)
                    kept += 1
                    yield out
        except Exception as e:  # noqa: BLE001 - a corrupt page or column chunk: keep what came before
            yield _fault(f, "bad_parquet", _one_line(e), kept)


def make_file_reader(tasks: list[tuple[int, str, str]], relpaths: list[str], text_field: str, max_bytes: int):
    """The mapInArrow function over `spark.range(len(tasks))`: task i reads `tasks[i]` = (file, uri, codec).

    `codec` is "parquet", "gzip", "bz2" or "zstd".
    """

    def read(batches):
        import pyarrow as pa

        from curation.readers import parsed_schema

        schema = parsed_schema()
        for batch in batches:
            for t in batch.column(0).to_pylist():
                f, uri, codec = tasks[t]
                if codec == "parquet":
                    rows = parquet_rows(f, uri, relpaths[f], text_field, max_bytes)
                else:
                    rows = compressed_rows(f, uri, codec, relpaths[f], text_field, max_bytes)
                out = []
                for row in rows:
                    out.append(row)
                    if len(out) >= ROWS_PER_BATCH:
                        yield pa.RecordBatch.from_pylist(out, schema=schema)
                        out = []
                if out:
                    yield pa.RecordBatch.from_pylist(out, schema=schema)

    return read
