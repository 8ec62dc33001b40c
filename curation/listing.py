"""Resolve `--input` into the files to read, and name every file that will not be read.

Local inputs are listed with Python rather than Hadoop's local FileSystem, which follows symlinks but
drops broken ones in silence and lists FIFOs and sockets as empty regular files (reading a FIFO
blocks forever). Here a symlink to a file is read; a broken symlink is a file fault `broken_symlink`,
a FIFO, socket or device `not_a_regular_file`, a file the process may not read `unreadable`.
Other inputs (HDFS, S3, ...) are listed through Hadoop's FileSystem. The accepted formats and the
hidden-entry rule are the record contract's (`dataforge/core/records/files.py`), plus WARC files
(`.warc`, `.warc.gz`, `.wet`, `.wet.gz`), which only curation reads. Hidden entries (`.x`, `_x`:
`_SUCCESS`, `.crc`) are skipped by design and counted, as are files of another format.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from dataforge.core.errors import ForgeError
from dataforge.core.manifest import MANIFEST, Manifest
from dataforge.core.records.files import COMPRESSION, JSONL_EXT, PARQUET_EXT, compression_of
from dataforge.core.records.files import format_of as record_format
from dataforge.core.records.files import hidden as _hidden

__all__ = ["COMPRESSION", "JSONL_EXT", "PARQUET_EXT", "FileFault", "InputSet", "compression_of", "file_key",
           "format_of", "resolve_input"]


@dataclass(frozen=True)
class FileFault:
    """A file that could not be read (whole or past some point): where, why, and what was kept."""

    uri: str
    reason: str  # snake_case: broken_symlink, truncated_gzip, bad_parquet, schema_conflict, ...
    detail: str = ""
    records_kept: int = 0


@dataclass
class InputSet:
    """The resolved input: its files (qualified URIs, sorted), format and parent dataset ids."""

    path: str
    fmt: str
    root: str
    files: list[str]
    sizes: list[int]
    parents: list[str] = field(default_factory=list)
    is_file: bool = False
    faults: list[FileFault] = field(default_factory=list)  # found, but not readable at all
    skipped: dict[str, int] = field(default_factory=dict)  # hidden / other_format -> how many

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes)

    def relpath(self, uri: str) -> str:
        rel = uri[len(self.root):].lstrip("/") if uri.startswith(self.root) else uri
        return unquote(rel) or unquote(uri.rsplit("/", 1)[-1])

    def display(self, uri: str, several: bool) -> str:
        """How the ledger names a file: relative to the input, prefixed by the input when there are several."""
        if not several:
            return self.relpath(uri)
        return self.path if self.is_file else f"{self.path.rstrip('/')}/{self.relpath(uri)}"


def format_of(name: str) -> str | None:
    """"jsonl", "parquet", "warc" (WARC, WARC.gz, WET: curation reads crawls too) or None."""
    from curation.warc import WARC_EXT

    return record_format(name) or ("warc" if name.endswith(WARC_EXT) else None)


def file_key(uri: str) -> str:
    """One spelling per file: Hadoop lists `file:/a b`, Spark reports `file:/a%20b` or `file:///a%20b`."""
    u = unquote(uri)
    return "file:/" + u[len("file:///"):] if u.startswith("file:///") else u


def _walk_local(top: Path, skipped: dict[str, int]) -> tuple[list[tuple[str, int]], list[FileFault]]:
    """Regular files under `top` (following symlinks, without looping), and the entries that are not."""
    found: list[tuple[str, int]] = []
    faults: list[FileFault] = []
    stack = [(top, frozenset())]
    while stack:
        d, seen = stack.pop()
        try:
            real = os.stat(d)
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as e:
            faults.append(FileFault(f"file:{d}", "unreadable", e.strerror or type(e).__name__))
            continue
        seen = seen | {(real.st_dev, real.st_ino)}
        for e in entries:
            if _hidden(e.name):
                skipped["hidden"] = skipped.get("hidden", 0) + 1
                continue
            path = Path(e.path)
            try:
                st = os.stat(path)  # follows symlinks
            except FileNotFoundError:
                if format_of(e.name) is not None or e.is_symlink():
                    faults.append(FileFault(f"file:{path}", "broken_symlink", f"-> {os.readlink(path)}"))
                continue
            except OSError as err:  # a symlink loop, a permission problem on the way
                faults.append(FileFault(f"file:{path}", "unreadable", err.strerror or type(err).__name__))
                continue
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) in seen:  # a symlink back to an ancestor: listing would never end
                    faults.append(FileFault(f"file:{path}", "symlink_loop", "links back to a parent directory"))
                else:
                    stack.append((path, seen))
            elif format_of(e.name) is None:
                skipped["other_format"] = skipped.get("other_format", 0) + 1
            elif not stat.S_ISREG(st.st_mode):
                faults.append(FileFault(f"file:{path}", "not_a_regular_file", _kind(st.st_mode)))
            elif not os.access(path, os.R_OK):
                faults.append(FileFault(f"file:{path}", "unreadable", "permission denied"))
            else:
                found.append((f"file:{path}", st.st_size))
    return found, faults


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _list_hadoop(spark, path: str, skipped: dict[str, int]) -> tuple[str, list[tuple[str, int]], bool]:
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    try:
        fs = hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        if not fs.exists(hpath):
            raise ForgeError(f"--input {path}: no such file or directory")
        root = fs.makeQualified(hpath).toString()
        found = []
        it = fs.listFiles(hpath, True)
        while it.hasNext():
            st = it.next()
            uri = st.getPath().toString()
            parts = uri[len(root):].split("/") if uri != root else [st.getPath().getName()]
            if any(_hidden(p) for p in parts if p):
                skipped["hidden"] = skipped.get("hidden", 0) + 1
                continue
            found.append((uri, int(st.getLen())))
        is_file = bool(fs.getFileStatus(hpath).isFile())
    except ForgeError:
        raise
    except Exception as e:  # py4j errors carry a Java stack; one line is enough for the user
        raise ForgeError(f"--input {path}: cannot list ({str(e).splitlines()[0]})") from e
    return root, found, is_file


def resolve_input(spark, path: str, fmt: str | None = None) -> InputSet:
    """List the input's files: local paths with Python, anything else through Hadoop's FileSystem."""
    parents: list[str] = []
    skipped: dict[str, int] = {}
    faults: list[FileFault] = []
    if "://" in path:
        root, found, is_file = _list_hadoop(spark, path, skipped)
    else:
        local = Path(path)
        if not local.exists():
            raise ForgeError(f"--input {path}: no such file or directory")
        root = f"file:{os.path.abspath(local)}"
        if (local / MANIFEST).is_file():  # an engine dataset: read its records, keep its id as parent
            parents.append(Manifest.read(local).id)
            if (local / "data").is_dir():
                local = local / "data"
        top = Path(os.path.abspath(local))
        is_file = not top.is_dir()
        if is_file:
            st = os.stat(top)
            if not stat.S_ISREG(st.st_mode):
                raise ForgeError(f"--input {path}: {_kind(st.st_mode)}, not a regular file; pass a file or folder")
            found = [(f"file:{top}", st.st_size)]
        else:
            found, faults = _walk_local(top, skipped)
    if is_file:
        root = root.rsplit("/", 1)[0]
    kinds = {format_of(u) for u, _ in found} - {None}
    if fmt is None:
        if len(kinds) > 1:
            raise ForgeError(f"--input {path}: holds {' and '.join(sorted(kinds))} files; pass one kind (or --format)")
        if not kinds:
            what = f" ({faults[0].uri.rsplit('/', 1)[-1]}: {faults[0].reason})" if faults else ""
            raise ForgeError(f"--input {path}: no readable .jsonl/.json/.ndjson(.gz/.bz2/.zst), .parquet "
                             f"or .warc/.wet(.gz) files found{what}")
        fmt = kinds.pop()
    files = sorted(f for f in found if format_of(f[0]) == fmt or (len(found) == 1 and fmt))
    if not files:
        raise ForgeError(f"--input {path}: no {fmt} files found")
    skipped["other_format"] = skipped.get("other_format", 0) + len(found) - len(files)
    return InputSet(path=path, fmt=fmt, root=root, files=[f[0] for f in files], sizes=[f[1] for f in files],
                    parents=parents, is_file=is_file, faults=sorted(faults, key=lambda f: f.uri),
                    skipped={k: v for k, v in sorted(skipped.items()) if v})
