"""Compressed JSONL and Parquet files, read executor-side: one bad file never fails the job.

Spark's own readers abort the whole job on one truncated `.gz`, one garbage Parquet footer or one
file whose schema does not merge with the others. Here each file is read by a task of its own with
pyarrow.fs (local, HDFS, S3) and a streaming decompressor, parsed as it is read, and a fault ends
that file only: the records before it stay ordinary records and one `file_fault` row names the file,
the reason (`truncated_gzip`, `corrupt_gzip`, `bad_parquet`, `schema_conflict`, `unreadable`, ...)
and how many records were kept. Plain JSONL stays on Spark's splittable text reader (see readers.py);
Parquet rows become records in parquet_rows.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from curation.parse import blank_row, parse_record
from dataforge.core.records.remote import filesystem

FAULT = "file_fault"  # the status of the one row that ends a file read only in part
CHUNK = 1 << 20
ROWS_PER_BATCH = 2048


def check_filesystems(uris: list[str]) -> None:
    """On the driver: fail in one line when pyarrow.fs cannot open a scheme, before every file of it
    is quarantined as `unreadable` on the executors."""
    from dataforge.core.errors import ForgeError

    seen = set()
    for uri in uris:
        scheme = uri.split("://", 1)[0] if "://" in uri else "file"
        if scheme in seen or scheme == "file":
            continue
        seen.add(scheme)
        try:
            filesystem(uri)
        except Exception as e:  # noqa: BLE001
            raise ForgeError(f"--input {uri}: compressed JSONL and Parquet are read with pyarrow.fs, which cannot "
                             f"open {scheme}:// here ({one_line(e)}); decompress or copy the files") from None


def open_file(uri: str, random_access: bool = False):
    """A pyarrow input stream (or random-access file) for a listed URI."""
    fs, path = filesystem(uri)
    # compression=None: pyarrow would otherwise decompress by extension, and hide where a stream broke
    return fs.open_input_file(path) if random_access else fs.open_input_stream(path, compression=None)


def one_line(e: BaseException) -> str:
    msg = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return msg[:200]


def fault_row(f: int, reason: str, detail: str, kept: int) -> dict[str, Any]:
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
        yield fault_row(f, "unreadable", one_line(e), 0)
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
        yield fault_row(f, _codec_fault(codec, faults[0]), one_line(faults[0]), kept)


def make_file_reader(tasks: list[tuple[int, str, str, int, int | None]], relpaths: list[str], text_field: str,
                     max_bytes: int):
    """The mapInArrow function over `spark.range(len(tasks))`: task i reads `tasks[i]` =
    (file, uri, codec, start, end).

    `codec` is "parquet", "warc" (see warc.py), "gzip", "bz2" or "zstd"; only "warc" reads a byte
    range [start, end) of a file (end None: to its end), the others read (0, None), the whole file.
    """

    def read(batches):
        import pyarrow as pa

        from curation.readers import parsed_schema

        schema = parsed_schema()
        for batch in batches:
            for t in batch.column(0).to_pylist():
                f, uri, codec, start, end = tasks[t]
                if codec == "parquet":
                    from curation.parquet_rows import parquet_rows

                    rows = parquet_rows(f, uri, relpaths[f], text_field, max_bytes)
                elif codec == "warc":
                    from curation.warc import warc_rows

                    rows = warc_rows(f, uri, relpaths[f], max_bytes, start, end)
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
