"""Stable hashes: the basis of every id in the engine (same inputs -> same id, on any machine)."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from pathlib import Path, PurePath
from typing import Any

from pydantic import SecretStr

from dataforge.core.secrets import REDACTED

_CHUNK = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _jsonable(obj: Any) -> Any:
    # pydantic models, dataclasses and paths appear in specs; give each one canonical JSON form.
    # A secret hashes as its marker: ids never depend on (or leak) a key.
    if isinstance(obj, SecretStr):
        return REDACTED
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if isinstance(obj, bytes):
        return obj.hex()
    raise TypeError(f"cannot hash a {type(obj).__name__}: give it a JSON form")


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no whitespace: the byte form that ids are computed over."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_jsonable)


def stable_hash(obj: Any, length: int = 32) -> str:
    """Hex sha256 of `obj`'s canonical JSON, cut to `length` characters."""
    return sha256_bytes(canonical_json(obj).encode("utf-8"))[:length]


def text_id(text: str) -> str:
    """The id a text record gets when its input has none: a content hash of the text."""
    return sha256_bytes(text.encode("utf-8", "surrogatepass"))[:32]
