"""Atomic writes: a crashed job never leaves a file or directory that looks complete.

Directories are built under a hidden sibling `.NAME.tmp-*` and renamed into place once their
`manifest.json` is written; a rerun sweeps the leftovers of a killed run first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def _tmp_sibling(final: Path, tag: str) -> Path:
    return final.parent / f".{final.name}.{tag}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def sweep_stale(final: Path) -> int:
    """Remove temp siblings left by killed runs of `final`; returns how many were removed."""
    removed = 0
    if final.parent.is_dir():
        for p in final.parent.glob(f".{final.name}.tmp-*"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed += 1
        for p in final.parent.glob(f".{final.name}.old-*"):
            shutil.rmtree(p, ignore_errors=True)
            removed += 1
    return removed


def replace_dir(src: Path, final: Path) -> None:
    """Move the finished directory `src` to `final`, replacing an older `final` if there is one."""
    old = None
    if final.exists():
        old = _tmp_sibling(final, "old")
        os.rename(final, old)
    os.rename(src, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a temp directory; on success it becomes `final`, on error it is removed.

    Example:
        with atomic_dir(out) as tmp:
            write_data(tmp)
            write_manifest(tmp, manifest)   # last
    """
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(final)
    tmp = _tmp_sibling(final, "tmp")
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    replace_dir(tmp, final)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_sibling(path, "tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
