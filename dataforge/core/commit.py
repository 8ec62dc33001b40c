"""Atomic writes: a crashed job never leaves a file or directory that looks complete.

Directories are built under a hidden sibling `.NAME.tmp-HOST-PID-RAND` and renamed into place once
their `manifest.json` is written. A temp sibling is removed by the run that made it, or by a later
run only when it is provably stale: its name says this host and a pid that is dead, or the later run
holds the output's lock (`dataforge.core.lock`), so no live run of the engine can be writing it.
Two runs on one output therefore never delete each other's temp dirs.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.core.lock import pid_alive, this_host


def tmp_sibling(final: Path, tag: str) -> Path:
    # host and pid in the name let a later run prove the owner dead before it removes anything
    host = this_host().replace("/", "_")
    return final.parent / f".{final.name}.{tag}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def _owner(sibling: Path, final: Path) -> tuple[str, int] | None:
    """(host, pid) from a temp sibling's name; None for names without them (older engine versions)."""
    for tag in ("tmp", "old"):
        prefix = f".{final.name}.{tag}-"
        if sibling.name.startswith(prefix):
            parts = sibling.name[len(prefix):].rsplit("-", 2)
            if len(parts) == 3 and parts[1].isdigit():
                return parts[0], int(parts[1])
    return None


def is_stale_sibling(sibling: Path, final: Path, locked: bool) -> bool:
    """Whether a temp sibling of `final` belongs to a run that is gone.

    On this host a dead pid proves it; a live pid never loses its temp dir. Elsewhere (or with no
    owner in the name) only holding `final`'s lock proves it: every live writer holds that lock.
    """
    owner = _owner(sibling, final)
    if owner is not None and owner[0] == this_host():
        return not pid_alive(owner[1])
    return locked


def sweep_stale(final: Path, locked: bool = False) -> int:
    """Remove the provably stale temp siblings of `final`; returns how many were removed."""
    removed = 0
    if final.parent.is_dir():
        for pattern in (f".{final.name}.tmp-*", f".{final.name}.old-*"):
            for p in final.parent.glob(pattern):
                if is_stale_sibling(p, final, locked):
                    shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                    removed += 1
    return removed


def replace_dir(src: Path, final: Path) -> None:
    """Move the finished directory `src` to `final`, replacing an older `final` if there is one.

    The only way an engine output is deleted: the old one is renamed away, the new one renamed in,
    then the old one removed (a crash in between leaves the old one as a stale `.old-` sibling).
    """
    old = None
    if final.exists():
        old = tmp_sibling(final, "old")
        os.rename(final, old)
    os.rename(src, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_dir(final: str | Path, *, replace: bool = False, locked: bool = False,
               check: Callable[[Path], bool] | None = None) -> Iterator[Path]:
    """Yield a temp directory; on success it becomes `final`, on error it is removed.

    Args:
        replace: an existing `final` may be replaced (else committing over it is refused).
        locked: the caller holds `final`'s lock, so every leftover temp sibling is stale.
        check: called with the finished temp dir before the commit; False keeps `final` as it is
            (the temp dir is dropped), an exception refuses the commit.
    Example:
        with atomic_dir(out) as tmp:
            write_data(tmp)
            write_manifest(tmp, manifest)   # last
    """
    final = Path(final).absolute()
    final.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(final, locked)
    tmp = tmp_sibling(final, "tmp")
    tmp.mkdir()
    try:
        yield tmp
        commit = check(tmp) if check is not None else True
        if commit and final.exists() and not replace:
            raise ForgeError(f"{final}: already exists and is not replaced; choose another output")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if commit:
        replace_dir(tmp, final)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_sibling(path, "tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
