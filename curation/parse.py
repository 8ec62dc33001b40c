"""One input record -> a record row or a quarantined row with its reason, never an exception.

`parse_record` takes the raw bytes of a JSONL line; `parse_object` takes an already decoded object
(a Parquet row). Whatever goes wrong in one record (bad UTF-8, JSON nested past Python's recursion
limit, an integer too long to convert, a field the record types cannot carry) quarantines that
record with a short reason; the bytes are kept by the caller.

The record itself follows the contract of `dataforge.core.records` (kind detection, checks, default
ids, `judged_text`); a parsed row carries the kind's fields as one canonical JSON string (`record`),
the text steps judge (`text`) and the Parquet layout it will be written in (`layout`).
Nothing is trimmed: unknown top-level fields go into `metadata`; what the contract cannot carry
(a message field outside the OpenAI/HF schema) is quarantined.
Metadata is always strict JSON: non-finite floats become the strings "NaN", "Infinity", "-Infinity".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from dataforge.core.hashing import sha256_bytes
from dataforge.core.records import FIELDS, RecordError, default_id, judged_text, layout_of, parse_body

MAX_DOC_BYTES = 10_000_000  # larger documents are quarantined as too_large
CONTRACT_FIELDS = frozenset(f for fs in FIELDS.values() for f in fs)
ROW_FIELDS = ("id", "source", "kind", "layout", "text", "record", "metadata", "status", "reason", "raw")


class Reject(Exception):
    """A record that cannot be carried: `reason` is its quarantine reason."""

    def __init__(self, reason: str, rid: str | None = None, source: str | None = None):
        super().__init__(reason)
        self.reason, self.rid, self.source = reason, rid, source


def quarantine_row(reason: str, raw: bytes, rid: str | None = None, source: str = "") -> dict[str, Any]:
    row = dict.fromkeys(ROW_FIELDS)
    row.update(id=rid or sha256_bytes(raw)[:32], source=source, status="quarantined", reason=reason, raw=raw)
    return row


def blank_row() -> dict[str, Any]:
    row = dict.fromkeys(ROW_FIELDS)
    row["status"] = "blank"
    return row


def finite(value: Any) -> Any:
    """`value` with every NaN/Infinity float replaced by its name as a string (strict JSON, lossless)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def strict_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) that any strict parser reads: no NaN/Infinity literals."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # a non-finite float somewhere: rare, so only then walk the object
        return json.dumps(finite(obj), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _same(a: Any, b: Any) -> bool:
    return strict_json(a) == strict_json(b)  # 1 == True and NaN != NaN in Python; not in JSON


def _metadata(obj: dict[str, Any], carried: tuple[str, ...]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except ValueError:
            meta = {"raw_metadata": meta}
    if meta is None:
        meta = {}
    elif not isinstance(meta, dict):
        meta = {"raw_metadata": meta}
    for k, v in obj.items():  # unknown top-level fields are kept, not lost
        if k in carried or (k in CONTRACT_FIELDS and v is None):
            continue
        if k in meta and not _same(meta[k], v):
            raise Reject("metadata_conflict")  # the same key in metadata and at top level, different values
        meta[k] = v
    return meta


def parse_object(obj: Any, default_source: str, text_field: str = "text",
                 max_bytes: int = MAX_DOC_BYTES) -> dict[str, Any]:
    """A decoded record -> an ok record row; raises `Reject` for one that cannot be carried."""
    if not isinstance(obj, dict):
        raise Reject("not_object")
    rid = obj.get("id")
    if isinstance(rid, bool) or not isinstance(rid, str | int | type(None)):
        raise Reject("bad_id")
    rid = None if rid is None or rid == "" else str(rid)
    source = obj.get("source")
    if isinstance(source, bool) or not isinstance(source, str | int | type(None)):
        raise Reject("bad_source", rid)
    source = default_source if source is None or source == "" else str(source)
    try:
        kind, body, used = parse_body(obj, text_field)
    except RecordError as e:
        raise Reject(e.reason, rid, source) from None
    text = judged_text(kind, body)
    rid = rid or default_id(kind, body)
    record = strict_json(body)
    carried = ("id", "source", "metadata", *used)
    try:
        meta = strict_json(_metadata(obj, carried))
    except Reject as r:
        raise Reject(r.reason, rid, source) from None
    try:  # JSON escapes can smuggle in lone surrogates, which no UTF-8 file can hold
        size = len(record.encode("utf-8")) + len(meta.encode("utf-8"))
        rid.encode("utf-8"), source.encode("utf-8")
    except UnicodeEncodeError:
        raise Reject("bad_unicode", rid if rid and rid.isascii() else None) from None
    if size > max_bytes:
        raise Reject("too_large", rid, source)
    return {"id": rid, "source": source, "kind": kind, "layout": layout_of(kind, body), "text": text,
            "record": record, "metadata": meta, "status": "ok", "reason": None, "raw": None}


def guarded(obj: Any, raw: bytes | Callable[[], bytes], default_source: str, text_field: str,
            max_bytes: int) -> dict[str, Any]:
    """`parse_object`, with any failure turned into a quarantined row (an executor never crashes).

    `raw` is the record's bytes, or a function that makes them (only a quarantined record needs them).
    """
    rid, source = None, default_source
    try:
        return parse_object(obj, default_source, text_field, max_bytes)
    except Reject as r:
        reason, rid, source = r.reason, r.rid, r.source or default_source
    except RecursionError:
        reason = "too_deep"
    except ArithmeticError:  # OverflowError and friends
        reason = "bad_number"
    except Exception:  # noqa: BLE001 - one odd record must not fail the job; it is kept in quarantine
        reason = "parse_error"
    return quarantine_row(reason, raw() if callable(raw) else raw, rid, source)


def parse_record(raw: bytes, default_source: str, text_field: str = "text",
                 max_bytes: int = MAX_DOC_BYTES) -> dict[str, Any] | None:
    """Parse one input line into a record row, a quarantined row, or None for a blank line."""
    if len(raw) > max_bytes:
        return quarantine_row("too_large", raw, source=default_source)
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return quarantine_row("bad_utf8", raw, source=default_source)
    if not s.strip():
        return None
    try:
        obj = json.loads(s.lstrip("\ufeff"))
    except RecursionError:  # nesting deeper than Python's recursion limit
        return quarantine_row("too_deep", raw, source=default_source)
    except ValueError as e:  # ints past sys.get_int_max_str_digits() raise ValueError too
        reason = "bad_number" if "integer string conversion" in str(e) else "not_json"
        return quarantine_row(reason, raw, source=default_source)
    except Exception:  # noqa: BLE001
        return quarantine_row("parse_error", raw, source=default_source)
    return guarded(obj, raw, default_source, text_field, max_bytes)
