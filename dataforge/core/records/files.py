"""Which files hold a dataset's records: one set of accepted formats for every layer.

JSONL (`.jsonl`, `.json`, `.ndjson`, each also compressed as `.gz`, `.bz2`, `.zst`) and Parquet
(`.parquet`). An engine dataset folder (with `manifest.json`) holds its records under `data/`.
Hidden entries (`.x`, `_x`: `_SUCCESS`, `.crc`) are never records. Curation's listing
(`curation/listing.py`) adds file faults and remote filesystems on top of these rules.
"""

from __future__ import annotations

import io
from pathlib import Path

COMPRESSION = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd"}
JSONL_EXT = tuple(f"{e}{c}" for e in (".jsonl", ".json", ".ndjson") for c in ("", *COMPRESSION))
PARQUET_EXT = (".parquet",)
MANIFEST = "manifest.json"


def format_of(name: str) -> str | None:
    """"jsonl", "parquet" or None (not a record file), from the file name."""
    if name.endswith(JSONL_EXT) and not name.endswith(f"/{MANIFEST}") and name != MANIFEST:
        return "jsonl"
    if name.endswith(PARQUET_EXT):
        return "parquet"
    return None


def compression_of(name: str) -> str | None:
    """gzip, bz2, zstd or None (plain), from the file name."""
    return next((c for ext, c in COMPRESSION.items() if name.endswith(ext)), None)


def hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def record_root(path: str | Path) -> Path:
    """Where a local dataset's records are: `data/` of an engine dataset, else the path itself."""
    path = Path(path)
    return path / "data" if (path / MANIFEST).is_file() and (path / "data").is_dir() else path


def record_files(path: str | Path) -> dict[str, list[Path]]:
    """A local dataset's record files by format ("jsonl", "parquet"), sorted; hidden entries skipped."""
    root = record_root(path)
    if root.is_file():
        fmt = format_of(root.name)
        return {fmt: [root]} if fmt else {}
    out: dict[str, list[Path]] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).parts
        fmt = format_of(p.name)
        if fmt and not any(hidden(s) for s in rel) and p.is_file():
            out.setdefault(fmt, []).append(p)
    return out


def open_text(path: str | Path) -> io.TextIOBase:
    """A JSONL file opened for reading as UTF-8 text, decompressed by its extension."""
    import bz2
    import gzip

    codec = compression_of(str(path))
    if codec == "gzip":
        return gzip.open(path, "rt", encoding="utf-8")
    if codec == "bz2":
        return bz2.open(path, "rt", encoding="utf-8")
    if codec == "zstd":
        import pyarrow as pa

        return io.TextIOWrapper(pa.CompressedInputStream(pa.OSFile(str(path)), "zstd"), encoding="utf-8")
    return open(path, encoding="utf-8")
