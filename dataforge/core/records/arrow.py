"""Records in Parquet: one Arrow schema per layout, and lossless row <-> record conversion.

A record here is its JSON object: `id`, `source`, `metadata` (an object) and its kind's fields in
normal form (see kinds.py, messages.py). In Parquet, `metadata` is a JSON string (heterogeneous lineage
fits one column), `tools` is a JSON string (arbitrary JSON schemas fit no fixed Arrow type; `json.loads`
it before `apply_chat_template(tools=...)`), and `chat_template_kwargs` is a struct whose
`enable_thinking` is a boolean and whose other keys, if any, are one JSON string in `extra_json`
(templates ignore variables they do not use, so TRL can pass the struct as it is). Messages are the
OpenAI/HF structs of messages.py. `record_from_row(record_to_row(r)) == r` for every valid record.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from dataforge.core.hashing import canonical_json
from dataforge.core.records.kinds import layout_of, parse_body
from dataforge.core.records.messages import MESSAGES_TYPE, messages_from_arrow, messages_to_arrow

KWARGS_TYPE = pa.struct([("enable_thinking", pa.bool_()), ("extra_json", pa.string())])
LAYOUTS = ("text", "chat", "preference", "preference_implicit", "preference_conversational",
           "preference_implicit_conversational", "completion", "completion_conversational")
TURN_FIELDS = ("prompt", "chosen", "rejected", "completion")


def dump_metadata(metadata: dict[str, Any] | None) -> str:
    return canonical_json(metadata or {})


def load_metadata(raw: str | None) -> dict[str, Any]:
    return json.loads(raw) if raw else {}


def schema_of(layout: str) -> pa.Schema:
    """The Arrow schema of a layout's Parquet files (columns in TRL's names)."""
    if layout not in LAYOUTS:
        raise ValueError(f"record layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    head, tail = [("id", pa.string())], [("source", pa.string()), ("metadata", pa.string())]
    if layout == "text":
        return pa.schema([*head, ("text", pa.string()), *tail])
    if layout == "chat":
        return pa.schema([*head, ("messages", MESSAGES_TYPE), *tail, ("chat_template_kwargs", KWARGS_TYPE),
                          ("tools", pa.string())])
    turn = MESSAGES_TYPE if layout.endswith("_conversational") else pa.string()
    if layout.startswith("completion"):
        names = ["prompt", "completion"]
    else:
        names = ["chosen", "rejected"] if "_implicit" in layout else ["prompt", "chosen", "rejected"]
    return pa.schema([*head, *[(n, turn) for n in names], *tail])


def spark_schema(layout: str):
    """The same schema as a Spark StructType (for `mapInArrow` and DataFrames built executor-side)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema_of(layout))


def _kwargs_to_arrow(kw: dict[str, Any] | None) -> dict[str, Any] | None:
    if not kw:
        return None
    extra = {k: v for k, v in kw.items() if k != "enable_thinking"}
    out = {"enable_thinking": kw.get("enable_thinking")}
    if extra:  # left out when empty: the in-memory row stays {"enable_thinking": ...}
        out["extra_json"] = canonical_json(extra)
    return out


def _kwargs_from_arrow(row: dict[str, Any] | None) -> dict[str, Any] | None:
    if not row:
        return None
    out = json.loads(row["extra_json"]) if row.get("extra_json") else {}
    if row.get("enable_thinking") is not None:
        out["enable_thinking"] = row["enable_thinking"]
    return out or None


def record_layout(record: dict[str, Any]) -> str:
    kind, body, _ = parse_body(record)
    return layout_of(kind, body)


def row_layout(row: dict[str, Any]) -> str:
    """The layout of a row made by `record_to_row` (from its fields; no parsing)."""
    if row.get("messages") is not None:
        return "chat"
    if row.get("chosen") is not None:
        name = "preference" if row.get("prompt") is not None else "preference_implicit"
        return name + ("_conversational" if isinstance(row["chosen"], list) else "")
    if row.get("completion") is not None:
        return "completion" + ("_conversational" if isinstance(row["completion"], list) else "")
    return "text"


def record_to_row(record: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(layout, Arrow row) of a record in normal form (a dict with id, source, metadata and its fields)."""
    kind, body, _ = parse_body(record)
    layout = layout_of(kind, body)
    row: dict[str, Any] = {"id": record["id"], "source": record.get("source") or "",
                           "metadata": dump_metadata(record.get("metadata"))}
    if kind == "text":
        row["text"] = body["text"]
    elif kind == "chat":
        row["messages"] = messages_to_arrow(body["messages"])
        row["chat_template_kwargs"] = _kwargs_to_arrow(body.get("chat_template_kwargs"))
        row["tools"] = canonical_json(body["tools"]) if body.get("tools") else None
    else:
        for k in TURN_FIELDS:
            if k in body:
                row[k] = messages_to_arrow(body[k]) if isinstance(body[k], list) else body[k]
    return layout, row


def record_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """The record (normal form) of an Arrow row of any layout."""
    rec: dict[str, Any] = {"id": row["id"], "source": row.get("source") or "",
                           "metadata": load_metadata(row.get("metadata"))}
    if row.get("messages") is not None:
        rec["messages"] = messages_from_arrow(row["messages"])
        kwargs = _kwargs_from_arrow(row.get("chat_template_kwargs"))
        if kwargs is not None:
            rec["chat_template_kwargs"] = kwargs
        if row.get("tools"):
            rec["tools"] = json.loads(row["tools"])
        return rec
    if row.get("text") is not None and not any(row.get(k) is not None for k in TURN_FIELDS):
        rec["text"] = row["text"]
        return rec
    for k in TURN_FIELDS:
        v = row.get(k)
        if v is not None:
            rec[k] = messages_from_arrow(v) if isinstance(v, list) else v
    return rec


def kind_of(schema: pa.Schema) -> str:
    """The kind of a Parquet file's records, from its columns (the detection order of kinds.py)."""
    names = set(schema.names)
    for kind, need in (("chat", {"messages"}), ("preference", {"chosen", "rejected"}),
                       ("completion", {"prompt", "completion"}), ("text", {"text"})):
        if need <= names:
            return kind
    raise ValueError(f"records need a 'text', 'messages', 'chosen'+'rejected' or 'prompt'+'completion' column, "
                     f"found {sorted(names)}")


def from_arrow_form(obj: dict[str, Any]) -> dict[str, Any]:
    """A decoded Parquet row whose fields may be in this contract's Arrow form, in JSON form.

    `content_parts` (JSON) becomes the message's list `content`, `tools` given as a JSON string becomes
    the list, `chat_template_kwargs.extra_json` is merged back; anything else is left as it is.
    """
    obj = dict(obj)
    for k in ("messages", *TURN_FIELDS):
        v = obj.get(k)
        if isinstance(v, list):
            obj[k] = [_unparts(m) for m in v]
    tools = obj.get("tools")
    if isinstance(tools, str):
        try:
            obj["tools"] = json.loads(tools)
        except ValueError:
            pass  # left as it is: the contract check quarantines it as bad_tools
    kw = obj.get("chat_template_kwargs")
    if isinstance(kw, dict) and "extra_json" in kw:
        extra = kw.get("extra_json")
        rest = {k: v for k, v in kw.items() if k != "extra_json"}
        try:
            obj["chat_template_kwargs"] = {**(json.loads(extra) if isinstance(extra, str) else {}), **rest}
        except ValueError:
            pass
    return obj


def _unparts(m: Any) -> Any:
    if not isinstance(m, dict) or "content_parts" not in m:
        return m
    parts = m["content_parts"]
    out = {k: v for k, v in m.items() if k != "content_parts"}
    if isinstance(parts, str):
        try:
            out["content"] = json.loads(parts)
        except ValueError:
            out["content"] = parts  # not JSON: the message check quarantines it
    return out
