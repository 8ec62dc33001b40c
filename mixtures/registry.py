"""The mixture registry: a directory of immutable mixture versions, one subdirectory per id.

    registry/
      3f2a.../manifest.json, README.md, weights.png, tokenizer/, stages/, validation/, quarantine/

The registry is `--registry DIR`, else `$FORGE_REGISTRY`, else `./registry`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from dataforge.core.errors import ForgeError
from dataforge.core.manifest import MANIFEST, Manifest

ENV = "FORGE_REGISTRY"
ID_RE = re.compile(r"^[0-9a-f]{1,64}$")


def registry_dir(registry: str | Path | None = None) -> Path:
    """Resolve the registry directory (not created here)."""
    if registry is not None:
        return Path(registry).expanduser().absolute()
    return Path(os.environ.get(ENV) or "registry").expanduser().absolute()


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    path: Path
    manifest: Manifest

    @property
    def name(self) -> str:
        return self.manifest.config.get("name", "")


def entries(registry: str | Path | None = None) -> list[Entry]:
    """Every mixture in the registry, oldest first (then by id)."""
    root = registry_dir(registry)
    out = []
    if root.is_dir():
        for m in sorted(root.glob(f"*/{MANIFEST}")):
            try:
                manifest = Manifest.read(m.parent)
            except ForgeError:
                continue
            if manifest.kind == "mixture":
                out.append(Entry(manifest.id, m.parent, manifest))
    return sorted(out, key=lambda e: (e.manifest.created_at, e.id))


def find_built(registry: str | Path | None, key: str) -> Entry | None:
    """The entry built from input key `key` (see mixtures/identity.py), if the registry holds one; an entry
    for that key whose manifest no longer hashes to its id is refused rather than reused."""
    from mixtures.identity import check_identity

    for e in entries(registry):
        if e.manifest.extra.get("input_key") == key:
            check_identity(e.path, e.manifest)
            return e
    return None


def locate(id_or_path: str | Path, registry: str | Path | None = None) -> Path:
    """A mixture directory from a path, a full id or a unique id prefix (at least 4 characters)."""
    p = Path(id_or_path).expanduser()
    if (p / MANIFEST).is_file():
        return p.absolute()
    root = registry_dir(registry)
    key = str(id_or_path)
    if not ID_RE.match(key):
        raise ForgeError(f"mixture {key}: not a mixture directory (no manifest.json there) and not a mixture id "
                         "(hex digits); check the path or id")
    if (root / key / MANIFEST).is_file():
        return root / key
    if len(key) >= 4 and root.is_dir():
        hits = sorted(d for d in root.glob(f"{key}*") if (d / MANIFEST).is_file())
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ForgeError(f"mixture {key}: prefix matches {len(hits)} mixtures in {root} "
                             f"({', '.join(d.name[:12] for d in hits)}); give more characters")
    raise ForgeError(f"mixture {key}: not a mixture directory and not found in registry {root}; build it with "
                     f"`forge mix build SPEC`, or pass --registry DIR (or set {ENV})")


def freeze(root: Path) -> None:
    """Make a committed entry's files read-only: registry entries are immutable."""
    for p in root.rglob("*"):
        if p.is_file():
            p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
