"""Shard integrity at open in O(number of files): each file's sha256 is computed once per machine.

Opening a mixture checks its identity (the manifest hashes to the id: no data file read), then each
file against the manifest. The first open on a machine hashes every file in full and records, per
file, the sha256 it matched and the file's stamp (size, mtime, inode, device) under
`<DATAFORGE_CACHE>/verified/<mixture id>.json`; a later open hashes only files whose stamp changed,
so a trainer's start-up stops depending on the mixture's size. A file rewritten in place gets a new
stamp and is hashed again (and refused if its bytes differ). `forge mix verify ID` hashes every file
regardless of the record, for a check on demand.
"""

from __future__ import annotations

import json
from pathlib import Path

from dataforge.core.commit import atomic_write_text
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file
from dataforge.core.manifest import Manifest
from dataforge.core.models import cache_dir
from mixtures.identity import check_identity


def record_path(mixture_id: str) -> Path:
    return cache_dir() / "verified" / f"{mixture_id}.json"


def _stamp(p: Path) -> list[int]:
    st = p.stat()
    return [st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev]


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}  # no record (or a broken one): hash everything again


def verify_files(path: Path, manifest: Manifest, *, full: bool = False) -> tuple[list[str], int]:
    """(relative paths that do not match the manifest, files hashed). `full` ignores the record."""
    check_identity(path, manifest)  # cheap: no data file is read
    rec_file = record_path(manifest.id)
    record = {} if full else _load(rec_file).get(str(path.resolve()), {})
    bad, hashed, seen = [], 0, {}
    for rel, digest in sorted(manifest.files.items()):
        p = path / rel
        if not p.is_file():
            bad.append(rel)
            continue
        stamp = _stamp(p)
        known = record.get(rel)
        if known and known.get("sha256") == digest and known.get("stamp") == stamp:
            seen[rel] = known
            continue
        hashed += 1
        if sha256_file(p) != digest:
            bad.append(rel)
            continue
        seen[rel] = {"sha256": digest, "stamp": stamp}
    if not bad and (hashed or full):
        try:
            kept = _load(rec_file)
            kept[str(path.resolve())] = seen
            atomic_write_text(rec_file, json.dumps(kept, sort_keys=True))
        except OSError:
            pass  # a read-only cache only costs the next open a full pass
    return bad, hashed


def verify(path: Path, manifest: Manifest, *, full: bool = False) -> int:
    """Refuse (one line) a mixture whose files no longer match its id; returns how many were hashed."""
    bad, hashed = verify_files(path, manifest, full=full)
    if bad:
        raise ForgeError(f"{path / bad[0]}: sha256 does not match the manifest of mixture {manifest.id} "
                         f"({len(bad)} file(s) differ); the shard was modified or corrupted, rebuild the mixture")
    return hashed
