"""Chat messages in the OpenAI/HF schema: checked, normalized, and moved to and from Arrow.

A message is `{"role", "content", ...}` with role system/user/assistant/tool; `content` is a string, a
list of parts (`[{"type": "text", "text": ...}, ...]`) or null (an assistant turn that only calls tools).
Optional fields: `tool_calls` (`[{"id", "type", "function": {"name", "arguments"}}]`, arguments a JSON
string), `tool_call_id`, `name`, `reasoning_content`. Null fields (and an empty `tool_calls`) carry
nothing and are left out. Any other non-null field is refused
(`unsupported_message_field`): the contract never trims what it cannot carry.

The normal form (what `check_messages` returns and `messages_from_arrow` gives back) always has
`role` and `content` (a missing content is null) and omits the other fields when null; tool-call
`arguments` given as a JSON object are stored as its canonical JSON string (OpenAI's form).
Arrow holds content parts as a JSON string in `content_parts` (content is then null), because one
column cannot be a string in some rows and a list in others.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from dataforge.core.hashing import canonical_json

ROLES = frozenset({"system", "user", "assistant", "tool"})
OPTIONAL = ("tool_call_id", "name", "reasoning_content")  # plain strings when present
TOOL_CALL_TYPE = pa.struct([("id", pa.string()), ("type", pa.string()),
                            ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())]))])
MESSAGE_TYPE = pa.struct([
    ("role", pa.string()), ("content", pa.string()), ("content_parts", pa.string()),
    ("reasoning_content", pa.string()), ("tool_calls", pa.list_(TOOL_CALL_TYPE)), ("tool_call_id", pa.string()),
    ("name", pa.string()),
])
MESSAGES_TYPE = pa.list_(MESSAGE_TYPE)


class RecordError(ValueError):
    """A record the contract cannot carry; `reason` is its snake_case quarantine reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _tool_call(tc: Any) -> dict[str, Any]:
    if not isinstance(tc, dict) or not isinstance(tc.get("function"), dict):
        raise RecordError("bad_tool_calls")
    if any(k not in ("id", "type", "function") and v is not None for k, v in tc.items()):
        raise RecordError("unsupported_message_field")
    fn = tc["function"]
    if any(k not in ("name", "arguments") and v is not None for k, v in fn.items()):
        raise RecordError("unsupported_message_field")
    args = fn.get("arguments")
    if isinstance(args, dict):
        args = canonical_json(args)
    if not isinstance(fn.get("name"), str) or not isinstance(args, str | None):
        raise RecordError("bad_tool_calls")
    out: dict[str, Any] = {}
    for k in ("id", "type"):
        if tc.get(k) is not None:
            if not isinstance(tc[k], str):
                raise RecordError("bad_tool_calls")
            out[k] = tc[k]
    out["function"] = {"name": fn["name"]} if args is None else {"name": fn["name"], "arguments": args}
    return out


def check_message(m: Any) -> dict[str, Any]:
    """One message in normal form; raises `RecordError`."""
    if not isinstance(m, dict) or m.get("role") not in ROLES:
        raise RecordError("bad_messages")
    known = ("role", "content", "tool_calls", *OPTIONAL)
    if any(k not in known and v is not None for k, v in m.items()):
        raise RecordError("unsupported_message_field")
    content = m.get("content")
    if isinstance(content, list):
        if not content or not all(isinstance(p, dict) and isinstance(p.get("type"), str) for p in content):
            raise RecordError("bad_messages")
    elif content is None:
        if not m.get("tool_calls"):  # only a tool-calling assistant turn may say nothing
            raise RecordError("bad_messages")
    elif not isinstance(content, str):
        raise RecordError("bad_messages")
    out: dict[str, Any] = {"role": m["role"], "content": content}
    calls = m.get("tool_calls")
    if calls is not None and calls != []:  # an empty list carries nothing, like null
        if not isinstance(calls, list) or m["role"] != "assistant":
            raise RecordError("bad_tool_calls")
        out["tool_calls"] = [_tool_call(tc) for tc in calls]
    for k in OPTIONAL:
        if m.get(k) is not None:
            if not isinstance(m[k], str):
                raise RecordError("bad_messages")
            out[k] = m[k]
    return out


def check_messages(value: Any) -> list[dict[str, Any]]:
    """A non-empty list of messages in normal form; raises `RecordError("bad_messages")` and friends."""
    if not isinstance(value, list) or not value:
        raise RecordError("bad_messages")
    return [check_message(m) for m in value]


def is_messages(value: Any) -> bool:
    """True when `value` looks like a conversation (a list of objects), i.e. TRL's conversational form."""
    return isinstance(value, list) and bool(value) and all(isinstance(m, dict) for m in value)


def content_text(content: str | list | None) -> str:
    """The text of a content: the string itself, or its text parts joined by newlines."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p.get("text"), str))
    return ""


def messages_text(messages: list[dict[str, Any]]) -> str:
    """The text a conversation is judged by: its message contents, joined by blank lines."""
    return "\n\n".join(content_text(m.get("content")) for m in messages)


def message_to_arrow(m: dict[str, Any]) -> dict[str, Any]:
    """A message as an Arrow struct value; fields left out are null (so a plain message stays
    `{"role", "content"}` in memory, and Arrow / Spark fill in the other struct fields)."""
    out = dict(m)
    if isinstance(m.get("content"), list):
        out["content"], out["content_parts"] = None, canonical_json(m["content"])
    return out


def message_from_arrow(row: dict[str, Any]) -> dict[str, Any]:
    parts = row.get("content_parts")
    out: dict[str, Any] = {"role": row["role"],
                           "content": json.loads(parts) if parts is not None else row.get("content")}
    if row.get("tool_calls") is not None:
        out["tool_calls"] = [
            {**{k: tc[k] for k in ("id", "type") if tc.get(k) is not None},
             "function": {k: v for k, v in tc["function"].items() if v is not None}}
            for tc in row["tool_calls"]]
    for k in OPTIONAL:
        if row.get(k) is not None:
            out[k] = row[k]
    return out


def messages_to_arrow(messages: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    return None if messages is None else [message_to_arrow(m) for m in messages]


def messages_from_arrow(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    return None if rows is None else [message_from_arrow(r) for r in rows]
