"""`forge export DIR --to PATH`: a clean copy of a committed output, ready for the usual Hub upload tools.

What is copied: the files the manifest lists (each checked against its sha256 while it is copied), the
card (`README.md`, written from the manifest when the output predates cards) and the charts (`*.png`)
at the top level, then `manifest.json`. Nothing else: no lock or temp siblings, no Spark scratch, no
caches, no checkpoints (a run's manifest lists its model and metrics only), no `run.json`. Everything
that is copied was already written through `redact`, so no secret travels.

PATH must be new or an empty directory, outside DIR (and not containing it); the copy lands in a temp
sibling renamed into place, so an interrupted export leaves no PATH that looks complete. No network.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from dataforge.core.card import CARD, write_card
from dataforge.core.commit import atomic_dir
from dataforge.core.errors import ForgeError
from dataforge.core.lock import OutputLock, busy_error, held_by
from dataforge.core.manifest import MANIFEST, Manifest
from dataforge.core.outputs import check_not_input, output_kind

CHUNK = 1 << 20


def _source(src: str | Path) -> tuple[Path, Manifest]:
    root = Path(src).expanduser().absolute()
    if not root.is_dir():
        raise ForgeError(f"export {src}: not a directory; pass an output folder the engine wrote")
    if not (root / MANIFEST).is_file():
        kind = output_kind(root)
        what = f"holds an unfinished {kind} output (no manifest.json yet)" if kind else "is not an engine output"
        raise ForgeError(f"export {src}: {what}; only a committed output (with manifest.json) can be exported")
    holder = held_by(root)
    if holder is not None:  # a run is writing it: its files may change under the copy
        raise busy_error(root, holder, "export")
    return root, Manifest.read(root)


def _check_target(to: Path, root: Path, label: str) -> None:
    check_not_input(to, [root], label)
    if to.is_symlink() or (to.exists() and not to.is_dir()):
        raise ForgeError(f"{label} {to}: exists and is not a directory; nothing was touched; choose a new path")
    if to.is_dir() and any(to.iterdir()):
        raise ForgeError(f"{label} {to}: is not empty; export never writes into or over existing files; "
                         f"choose a new or empty directory")


def _copy_checked(src: Path, dest: Path, digest: str, rel: str, root: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    try:
        with open(src, "rb") as fi, open(dest, "wb") as fo:
            while chunk := fi.read(CHUNK):
                h.update(chunk)
                fo.write(chunk)
    except FileNotFoundError:
        raise ForgeError(f"export {root}: {rel} is listed in manifest.json but missing; the output is damaged, "
                         f"rebuild it") from None
    if h.hexdigest() != digest:
        raise ForgeError(f"export {root}: {rel} no longer matches its sha256 in manifest.json; the output was "
                         f"changed after it was committed; rebuild it") from None


def export_output(src: str | Path, to: str | Path, *, label: str = "--to") -> tuple[Manifest, list[str]]:
    """Copy the committed output `src` to the new folder `to`; returns its manifest and the copied paths."""
    root, m = _source(src)
    to = Path(to).expanduser().absolute()
    _check_target(to, root, label)
    to.parent.mkdir(parents=True, exist_ok=True)
    with OutputLock(to, "export").acquire():
        _check_target(to, root, label)  # again under the lock: another export may have just landed
        copied: list[str] = []
        with atomic_dir(to, replace=to.exists(), locked=True) as tmp:
            for rel, digest in sorted(m.files.items()):
                if rel.startswith("/") or ".." in Path(rel).parts:
                    raise ForgeError(f"export {root}: manifest.json lists {rel!r}, outside the folder; rebuild it")
                _copy_checked(root / rel, tmp / rel, digest, rel, root)
                copied.append(rel)
            for extra in sorted([*root.glob("*.png"), root / CARD]):
                if extra.is_file() and not extra.is_symlink():
                    shutil.copyfile(extra, tmp / extra.name)
                    copied.append(extra.name)
            if not (tmp / CARD).is_file():  # an output written before cards existed
                write_card(tmp, m)
                copied.append(CARD)
            shutil.copyfile(root / MANIFEST, tmp / MANIFEST)  # last, as in every commit
            copied.append(MANIFEST)
    return m, copied
