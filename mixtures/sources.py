"""Resolve a `Source` to data on disk: its files, record kind and manifest id.

A source path is an engine dataset dir (manifest.json + data/*.parquet), a plain Parquet or JSONL dir
(its id is then a content hash of its files), or a manifest id looked up in the registry, the spec's
neighbourhood and the roots named by `FORGE_DATA_PATH`.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file, stable_hash
from dataforge.core.io import parquet_files
from dataforge.core.manifest import MANIFEST, Manifest
from dataforge.core.records import detect_kind, kind_of
from dataforge.core.records.files import open_text, record_files
from mixtures.spec import Source

ID_RE = re.compile(r"^[0-9a-f]{8,64}$")
TRAINABLE_KINDS = ("text", "chat", "completion", "preference")


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """A source ready to read: `files` are absolute paths, `format` is 'parquet' or 'json'."""

    name: str
    path: str
    manifest_id: str
    kind: str
    format: str
    files: tuple[str, ...]
    has_manifest: bool

    def describe(self) -> dict:
        return {"path": self.path, "manifest_id": self.manifest_id, "kind": self.kind,
                "has_manifest": self.has_manifest}


def _json_files(root: Path) -> list[Path]:
    return record_files(root).get("jsonl", [])


def _json_kind(path: Path, where: str) -> str:
    with open_text(path) as f:
        for line in f:
            if line.strip():
                try:
                    keys = json.loads(line).keys()
                except (json.JSONDecodeError, AttributeError) as e:
                    raise ForgeError(f"{path}: first record is not a JSON object ({e}); {where} must be JSONL") from e
                kind = detect_kind(dict.fromkeys(keys, True))
                if kind is None:
                    raise ForgeError(f"{path}: records need a 'text', 'messages', 'prompt'+'completion' or "
                                     f"'chosen'+'rejected' field, found {sorted(keys)}")
                return _trainable(kind, where)
    raise ForgeError(f"{path}: empty file; {where} has no records")


def _trainable(kind: str, where: str) -> str:
    """Mixtures train on every record kind: text, chat, completion and preference (pairs, mixtures/pairs.py)."""
    if kind not in TRAINABLE_KINDS:
        raise ForgeError(f"{where}: holds {kind} records, which a mixture cannot train on; give a dataset of "
                         "text, chat, completion or preference records (e.g. the data/text or data/chat folder of a curated "
                         "dataset)")
    return kind


def _one_kind(src: Source, files: list[Path], where: str) -> tuple[list[Path], str]:
    """The Parquet files holding the source's kind of records (a curated dataset may hold both)."""
    by_kind: dict[str, list[Path]] = {}
    for f in files:
        try:
            kind = kind_of(pq.read_schema(f))
        except ValueError as e:
            raise ForgeError(f"{f}: {e}; a source holds text, chat, completion or preference records") from e
        by_kind.setdefault(_trainable(kind, where) if src.kind is None else kind, []).append(f)
    if src.kind is not None:
        if src.kind not in by_kind:
            raise ForgeError(f"{where}: Source.kind={src.kind!r} but the dataset holds only "
                             f"{' and '.join(sorted(by_kind))} records; fix Source.kind")
        if src.kind == "completion":
            _one_form(by_kind[src.kind], where)
        return by_kind[src.kind], src.kind
    if len(by_kind) > 1:
        kinds = " and ".join(sorted(by_kind, key=TRAINABLE_KINDS.index))
        raise ForgeError(f"{where}: holds both {kinds} records; set Source.kind to one of them")
    kind = next(iter(by_kind))
    if kind == "completion":
        _one_form(by_kind[kind], where)
    return by_kind[kind], kind


def _one_form(files: list[Path], where: str) -> None:
    """Completion files of one form: strings and conversations cannot share a Parquet column."""
    forms = {str(pq.read_schema(f).field("completion").type) for f in files}
    if len(forms) > 1:
        raise ForgeError(f"{where}: holds completion records in both the standard (string) and the conversational "
                         "form; give one Source per form (e.g. data/completion and data/completion_conversational)")


def _content_id(root: Path, files: list[Path]) -> str:
    base = root if root.is_dir() else root.parent
    return stable_hash({"files": {p.relative_to(base).as_posix(): sha256_file(p) for p in files}})


def _from_path(src: Source, root: Path) -> ResolvedSource:
    where = f"source {src.name} ({root})"
    has_manifest = (root / MANIFEST).is_file()
    if has_manifest:
        manifest = Manifest.read(root)
        if manifest.kind in ("mixture", "run"):
            raise ForgeError(f"{where}: is a {manifest.kind}, not a dataset of records; point it at a dataset dir")
        bad = manifest.verify(root)
        if bad:
            raise ForgeError(f"{where}: {bad[0]} does not match its manifest sha256; the dataset changed after it "
                             "was written, rebuild it")
    files = parquet_files(root)
    fmt = "parquet"
    if not files:
        files, fmt = _json_files(root), "json"
    if not files:
        raise ForgeError(f"{where}: no Parquet or JSONL files found")
    if fmt == "parquet":
        files, kind = _one_kind(src, files, where)
    else:
        kind = _json_kind(files[0], where)
    mid = manifest.id if has_manifest else _content_id(root, files)
    return ResolvedSource(name=src.name, path=str(root), manifest_id=mid, kind=kind, format=fmt,
                          files=tuple(str(p) for p in files), has_manifest=has_manifest)


def search_roots(spec_dir: Path | None, registry: Path | None) -> list[Path]:
    """Where a manifest id is looked for: FORGE_DATA_PATH roots, the registry, the spec's dir and its parent."""
    roots = [Path(p) for p in os.environ.get("FORGE_DATA_PATH", "").split(os.pathsep) if p]
    roots += [r for r in (registry, spec_dir, spec_dir.parent if spec_dir else None) if r is not None]
    return [r for r in dict.fromkeys(r.absolute() for r in roots) if r.is_dir()]


def find_by_id(manifest_id: str, roots: list[Path]) -> Path | None:
    """The dataset dir whose manifest id is `manifest_id` (or starts with it), up to two levels under a root."""
    for root in roots:
        for pattern in (MANIFEST, f"*/{MANIFEST}", f"*/*/{MANIFEST}"):
            for m in sorted(root.glob(pattern)):
                try:
                    mid = json.loads(m.read_text("utf-8")).get("id", "")
                except (OSError, json.JSONDecodeError):
                    continue
                if mid == manifest_id or (len(manifest_id) >= 8 and mid.startswith(manifest_id)):
                    return m.parent
    return None


def resolve_source(src: Source, spec_dir: Path | None = None, registry: Path | None = None) -> ResolvedSource:
    """Find `src` on disk; a one-line ForgeError lists where it looked."""
    raw = Path(src.path).expanduser()
    tried = [raw] if raw.is_absolute() else ([spec_dir / raw] if spec_dir else []) + [Path.cwd() / raw]
    for cand in tried:
        if cand.exists():
            return _from_path(src, cand.resolve())
    roots = search_roots(spec_dir, registry)
    if ID_RE.match(src.path):
        found = find_by_id(src.path, roots)
        if found is not None:
            return _from_path(src, found.resolve())
    looked = ", ".join(str(t) for t in tried)
    raise ForgeError(f"source {src.name}: path {src.path!r} not found (looked at {looked}) and no dataset with that "
                     f"manifest id under {', '.join(map(str, roots)) or 'FORGE_DATA_PATH'}; fix Source.path")
