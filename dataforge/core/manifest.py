"""`manifest.json`: what every dataset directory the engine writes says about itself.

The id is a content hash of the data files and the producing config, so the same inputs give the
same id on any machine; `created_at` and `code_version` are recorded but do not enter the id.
Documentation (README.md) and charts (*.png) are derived from the data and are not hashed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dataforge.core.commit import atomic_write_json
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json, sha256_file, stable_hash
from dataforge.core.secrets import redact

MANIFEST = "manifest.json"
KINDS = frozenset({"corpus", "generated", "curated", "mixture", "run", "classifier"})


def code_version() -> str:
    from dataforge import __version__

    return __version__


def _is_hashed(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return rel != MANIFEST and name != "README.md" and not name.endswith(".png")


def data_files(root: str | Path) -> dict[str, str]:
    """sha256 of every data file under `root`, keyed by its POSIX path relative to `root`."""
    root = Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and _is_hashed(rel):
            out[rel] = sha256_file(p)
    return out


@dataclass(slots=True)
class Manifest:
    """The self-description of a dataset directory.

    Args:
        id: content hash of `files` and `config` (plus `kind` and `parents`).
        kind: one of corpus, generated, curated, mixture, run, classifier.
        parents: ids of the input datasets; lineage is a walk over them.
        config: the producing spec, serialized to JSON.
        counts: record counts (layer-specific keys: records, kept, dropped, quarantined, tokens...).
        files: relative path -> sha256 of each data file.
        extra: layer-specific fields (stage weights, shard lists, ...).
    """

    id: str
    kind: str
    parents: list[str]
    config: dict[str, Any]
    counts: dict[str, Any]
    files: dict[str, str]
    code_version: str
    created_at: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(cls, root: str | Path, kind: str, config: dict[str, Any], *, parents: list[str] | None = None,
              counts: dict[str, Any] | None = None, extra: dict[str, Any] | None = None,
              id: str | None = None) -> Manifest:
        """Hash the data files under `root` and compute the id (unless the layer supplies its own).

        `config` and `extra` are redacted first (`dataforge.core.secrets.redact`): no key is written,
        and the id does not depend on one.
        """
        if kind not in KINDS:
            raise ValueError(f"manifest kind must be one of {sorted(KINDS)}, got {kind!r}")
        files = data_files(root)
        parents = sorted(parents or [])
        config = redact(json.loads(canonical_json(config)))
        extra = redact(json.loads(canonical_json(extra or {})))
        mid = id or stable_hash({"kind": kind, "parents": parents, "config": config, "files": files})
        now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        return cls(id=mid, kind=kind, parents=parents, config=config, counts=dict(counts or {}), files=files,
                   code_version=code_version(), created_at=now, extra=dict(extra or {}))

    def write(self, root: str | Path) -> Path:
        path = Path(root) / MANIFEST
        atomic_write_json(path, asdict(self))
        return path

    @classmethod
    def read(cls, root: str | Path) -> Manifest:
        path = Path(root) / MANIFEST
        if not path.is_file():
            raise ForgeError(f"{path}: no manifest.json; is {root} a dataset directory the engine wrote?")
        try:
            raw = json.loads(path.read_text("utf-8"))
            return cls(**raw)
        except (json.JSONDecodeError, TypeError) as e:
            raise ForgeError(f"{path}: unreadable manifest ({e}); rebuild the directory") from e

    def verify(self, root: str | Path) -> list[str]:
        """Relative paths whose sha256 no longer matches the manifest (missing files included)."""
        root = Path(root)
        bad = []
        for rel, digest in self.files.items():
            p = root / rel
            if not p.is_file() or sha256_file(p) != digest:
                bad.append(rel)
        return bad


def is_dataset_dir(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()
