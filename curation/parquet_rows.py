"""Parquet rows as records: one task per file, values made JSON, a bad file ends as a fault row.

Parquet values become JSON values: binary is text when it is UTF-8; in `text`, `id`, `source`,
`messages` and `chat_template_kwargs` invalid UTF-8 quarantines the record as `bad_utf8`, elsewhere
(metadata) it is kept as `{"$base64": "..."}`. Timestamps and dates are ISO 8601 strings, decimals
strings, maps objects (or `[key, value]` pairs when keys are not strings); null fields are omitted.
A garbage footer or page is `bad_parquet`; a column the records need with a type they cannot hold
(`text` as int64) is `schema_conflict`, found from the footer before any row is read.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from typing import Any

from curation.filereaders import ROWS_PER_BATCH, fault_row, one_line, open_file
from curation.parse import Reject, guarded, quarantine_row, strict_json
from dataforge.core.records import from_arrow_form

# with the text field: must be UTF-8 (the contract's fields and the record's identity)
STRICT_FIELDS = ("id", "source", "messages", "chat_template_kwargs", "tools", "prompt", "chosen", "rejected",
                 "completion")


def _plain(v: Any, strict: bool) -> Any:
    """A Parquet value as a JSON value (see the module docstring)."""
    if v is None or isinstance(v, str | bool | int | float):
        return v
    if isinstance(v, bytes):
        try:
            return v.decode("utf-8")
        except UnicodeDecodeError:
            if strict:
                raise Reject("bad_utf8") from None
            return {"$base64": base64.b64encode(v).decode("ascii")}
    if isinstance(v, dict):
        return {k: _plain(x, strict) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        if v and all(isinstance(x, tuple) and len(x) == 2 for x in v):  # a Parquet map
            if all(isinstance(k, str) for k, _ in v):
                return {k: _plain(x, strict) for k, x in v}
            return [[_plain(k, strict), _plain(x, strict)] for k, x in v]
        return [_plain(x, strict) for x in v]
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal | dt.timedelta):
        return str(v)
    return str(v)


def _raw(row: dict[str, Any]) -> bytes:
    """What quarantine keeps of a Parquet row: its JSON (binary that is not UTF-8 as base64)."""
    try:
        return strict_json({k: _plain(v, False) for k, v in row.items() if v is not None}).encode("utf-8")
    except Exception:  # noqa: BLE001 - nothing better to keep than the row's position
        return b""


def parquet_row(row: dict[str, Any], source: str, text_field: str, max_bytes: int) -> dict[str, Any]:
    strict = (*STRICT_FIELDS, text_field)
    try:
        obj = {k: _plain(v, k in strict) for k, v in row.items() if v is not None}
    except Reject as r:
        return quarantine_row(r.reason, _raw(row), source=source)
    except Exception:  # noqa: BLE001
        return quarantine_row("parse_error", _raw(row), source=source)
    return guarded(from_arrow_form(obj), lambda: _raw(row), source, text_field, max_bytes)


def _is_text(t) -> bool:
    import pyarrow as pa

    return (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_null(t) or str(t) in ("string_view", "binary_view"))


def schema_conflict(schema, text_field: str) -> str | None:
    """Why a file's columns cannot be records (e.g. `text` is int64), or None."""
    import pyarrow as pa

    def ok_id(t):
        return _is_text(t) or pa.types.is_integer(t)

    def ok_messages(t):
        return pa.types.is_null(t) or ((pa.types.is_list(t) or pa.types.is_large_list(t))
                                       and pa.types.is_struct(t.value_type))

    def ok_turn(t):
        return _is_text(t) or ok_messages(t)

    for name, ok, want in ((text_field, _is_text, "string"), ("id", ok_id, "string or integer"),
                           ("source", ok_id, "string"), ("messages", ok_messages, "list<struct<role, content>>"),
                           *[(k, ok_turn, "string or list<struct<role, content>>")
                             for k in ("prompt", "chosen", "rejected", "completion")]):
        if name in schema.names:
            t = schema.field(name).type
            t = t.value_type if pa.types.is_dictionary(t) else t
            if not ok(t):
                return f"column `{name}` is {t}, expected {want}"
    return None


def _batch_rows(batch) -> list[dict[str, Any]]:
    """Rows of a record batch; a string column holding invalid UTF-8 is read as binary instead."""
    import pyarrow as pa

    try:
        return batch.to_pylist()
    except UnicodeDecodeError:
        views = {pa.string(): pa.binary(), pa.large_string(): pa.large_binary()}
        cols = [c.view(views[c.type]) if c.type in views else c for c in batch.columns]
        return pa.RecordBatch.from_arrays(cols, names=batch.schema.names).to_pylist()


def parquet_rows(f: int, uri: str, source: str, text_field: str, max_bytes: int):
    """Parsed rows of one Parquet file (idx = row index), then a fault row if it could not be read."""
    import pyarrow.parquet as pq

    kept = 0
    try:
        src = open_file(uri, random_access=True)
    except Exception as e:  # noqa: BLE001
        yield fault_row(f, "unreadable", one_line(e), 0)
        return
    with src:
        try:
            pf = pq.ParquetFile(src)
        except Exception as e:  # noqa: BLE001 - missing or garbage footer, not Parquet at all
            yield fault_row(f, "bad_parquet", one_line(e), 0)
            return
        conflict = schema_conflict(pf.schema_arrow, text_field)
        if conflict:
            yield fault_row(f, "schema_conflict", conflict, 0)
            return
        try:
            for batch in pf.iter_batches(batch_size=ROWS_PER_BATCH):
                for row in _batch_rows(batch):
                    out = parquet_row(row, source, text_field, max_bytes)
                    out.update(file_index=f, block=0, idx=kept)
                    kept += 1
                    yield out
        except Exception as e:  # noqa: BLE001 - a corrupt page or column chunk: keep what came before
            yield fault_row(f, "bad_parquet", one_line(e), kept)
