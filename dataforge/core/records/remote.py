"""Record files behind a URI (s3://, gs://, hdfs://, file://, ...): listed and read with pyarrow's filesystems.

Executors open each file themselves from its URI, so a corpus on an object store or HDFS is read where
the work runs and never passes through the driver; the driver lists names and sizes only. Which schemes
work is what the installed pyarrow supports (S3 and GCS are built in; HDFS needs libhdfs on every
machine); credentials come from the environment as pyarrow reads them and never enter a URI we store.
"""

from __future__ import annotations

import io
import re
from typing import IO

from dataforge.core.errors import ForgeError
from dataforge.core.records.files import compression_of, format_of, hidden

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_CODECS = {"gzip": "gzip", "bz2": "bz2", "zstd": "zstd"}


def is_uri(path) -> bool:
    """True for a string with a URI scheme (`s3://bucket/seeds`), not for a local path."""
    return isinstance(path, str) and bool(_SCHEME.match(path))


def filesystem(uri: str):
    """(pyarrow FileSystem, path) for a URI; `file:` is local, and s3a:// and s3n:// (Hadoop's names) are s3://."""
    from pyarrow import fs

    if uri.startswith("file:"):
        return fs.LocalFileSystem(), uri[len("file://"):] if uri.startswith("file://") else uri[len("file:"):]
    scheme, rest = uri.split("://", 1)
    return fs.FileSystem.from_uri(("s3" if scheme in ("s3a", "s3n") else scheme) + "://" + rest)


def _fs(uri: str):
    try:
        return filesystem(uri)
    except (ValueError, OSError) as e:  # unknown scheme, or a filesystem pyarrow cannot reach from here
        raise ForgeError(f"{uri}: cannot open this filesystem ({e}); use a local path, or a URI pyarrow "
                         "supports (s3://, gs://, hdfs://, file://)") from None


def _join(uri: str, root: str, path: str) -> str:
    """The URI of `path` (a filesystem path under `root`, which `uri` names)."""
    return uri.rstrip("/") + path[len(root.rstrip("/")):]


def uri_files(uri: str) -> list[tuple[str, int]]:
    """(URI, size) of each record file (JSONL, compressed JSONL, Parquet) at `uri`, a file or a folder;
    sorted by URI, hidden entries (`.x`, `_x`) skipped; an engine dataset's `data/` is used when present."""
    from pyarrow import fs

    filesystem, root = _fs(uri)
    info = filesystem.get_file_info(root)
    if info.type == fs.FileType.NotFound:
        raise ForgeError(f"{uri}: not found")
    if info.type == fs.FileType.File:
        return [(uri, info.size)] if format_of(info.base_name) else []
    data = filesystem.get_file_info(f"{root.rstrip('/')}/data")
    if data.type == fs.FileType.Directory and filesystem.get_file_info(f"{root.rstrip('/')}/manifest.json").is_file:
        uri, root = _join(uri, root, data.path), data.path
    out = []
    for f in filesystem.get_file_info(fs.FileSelector(root, recursive=True)):
        rel = f.path[len(root.rstrip("/")) + 1:].split("/")
        if f.is_file and format_of(f.base_name) and not any(hidden(p) for p in rel):
            out.append((_join(uri, root, f.path), f.size))
    return sorted(out)


def open_uri_text(uri: str) -> IO[str]:
    """A JSONL file at `uri` as UTF-8 text, decompressed by its extension."""
    import pyarrow as pa

    filesystem, path = _fs(uri)
    stream = filesystem.open_input_stream(path, compression=None)
    codec = compression_of(uri)
    if codec:
        stream = pa.CompressedInputStream(stream, _CODECS[codec])
    return io.TextIOWrapper(stream, encoding="utf-8")


def read_parquet_uri(uri: str):
    """The Arrow table of one Parquet file at `uri`."""
    import pyarrow.parquet as pq

    filesystem, path = _fs(uri)
    return pq.read_table(path, filesystem=filesystem)
