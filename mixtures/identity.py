"""What a mixture id commits to: its inputs and every byte it holds.

    input_key  = hash(spec without locations, source manifest ids, tokenizer hash, format version)
    content_root = hash of the sorted (path, sha256) of every data file of the entry (manifest `files`)
    id         = hash(input_key, content_root)

The input key is known before any Spark work (a build whose key the registry already holds is a no-op);
the id is known once the shards are written. Because the id commits to the content root, editing a shard
together with its sha256 in manifest.json changes the id the manifest hashes to, so the trainer, asked for
an id, refuses it. Builds are deterministic, so the same inputs still give the same id and bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.manifest import MANIFEST, Manifest
from mixtures.format import FORMAT_VERSION

ID_RE = re.compile(r"^[0-9a-f]{32}$")


def input_key(identity_spec: dict, source_ids: dict[str, str], tokenizer_hash: str,
              format_version: int = FORMAT_VERSION, templates: dict[str, str] | None = None) -> str:
    """The hash of everything a build reads: the spec (`Mixture.identity_json()`), source ids, tokenizer,
    and the sha256 of each source's chat template other than the tokenizer's own (mixtures/templates.py)."""
    parts = {"spec": identity_spec, "format": format_version, "tokenizer": tokenizer_hash,
             "sources": dict(sorted(source_ids.items()))}
    if templates:  # left out when none: mixtures without chat settings keep their ids
        parts["chat_templates"] = dict(sorted(templates.items()))
    return stable_hash(parts)


def content_root(files: dict[str, str]) -> str:
    """The hash of every data file's (relative path, sha256), sorted by path."""
    return stable_hash(sorted(files.items()), 64)


def mixture_id(key: str, root: str) -> str:
    """The mixture id: its input key bound to its content root."""
    return stable_hash({"input_key": key, "content_root": root})


def input_key_from_manifest(manifest: Manifest) -> str:
    """Recompute a built mixture's input key from what its manifest records."""
    from mixtures.spec import Mixture
    from mixtures.templates import DEFAULT_TEMPLATE

    x = manifest.extra
    return input_key(Mixture(**manifest.config).identity_json(),
                     {n: s["manifest_id"] for n, s in x["sources"].items()}, x["tokenizer"]["hash"],
                     x["format_version"], {n: c["sha256"] for n, c in x.get("chat_templates", {}).items()
                                           if c["chat_template"] != DEFAULT_TEMPLATE})


def check_identity(path: Path, manifest: Manifest) -> None:
    """Refuse (one line) a manifest whose spec, inputs or file list do not hash to its id, or an entry whose
    directory is named by another id. Reads no data file: pair it with `Manifest.verify` for the bytes."""
    where = Path(path) / MANIFEST
    x = manifest.extra
    if manifest.kind != "mixture":
        raise ForgeError(f"{path}: a {manifest.kind} directory, not a mixture")
    if x.get("format_version") != FORMAT_VERSION:
        raise ForgeError(f"{path}: mixture format {x.get('format_version')}, this code reads {FORMAT_VERSION}; "
                         "rebuild it with `forge mix build`")
    key = input_key_from_manifest(manifest)
    if key != x.get("input_key"):
        raise ForgeError(f"{where}: its spec, source ids or tokenizer hash do not hash to id {manifest.id} "
                         "(input key differs); the manifest was edited, rebuild the mixture")
    root = content_root(manifest.files)
    if root != x.get("content_root") or mixture_id(key, root) != manifest.id:
        raise ForgeError(f"{where}: the sha256 list of its files does not hash to id {manifest.id} (content "
                         "root differs); a shard and its recorded sha256 were changed, rebuild the mixture")
    name = Path(path).name
    if ID_RE.match(name) and name != manifest.id:
        raise ForgeError(f"{where}: directory of mixture {name} holds mixture {manifest.id}; the entry was "
                         "replaced or edited, rebuild the mixture")
