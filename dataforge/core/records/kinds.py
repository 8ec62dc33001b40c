"""The four record kinds: how a row is recognised, checked, identified and judged.

Kinds and their fields (every record also has `id`, `source` and `metadata`):
  text        `text`
  chat        `messages`, optional `tools` (JSON schemas), `chat_template_kwargs` (any keys)
  preference  `prompt` (optional: TRL's implicit-prompt form), `chosen`, `rejected`
  completion  `prompt`, `completion`
Preference and completion fields are all strings (TRL's standard form) or all conversations (lists of
messages, TRL's conversational form); a record never mixes the two.

Kind detection, in this order: non-null `messages` -> chat; `chosen` and `rejected` -> preference;
`prompt` and `completion` -> completion; `text` -> text. A row with both `text` and `messages` is a
chat record whose `text` is kept in its `metadata` (every layer applies this one rule).

Default ids (when the input has none) are content hashes: text: `text_id(text)`; chat:
`text_id(canonical_json(messages))`; preference and completion: `text_id(canonical_json(fields))` over
the kind's fields present. The text a filter or dedup step judges (`judged_text`): text: the text;
chat: message contents joined by blank lines; preference: prompt + chosen; completion: prompt +
completion (the two parts joined by a blank line; conversations flattened as for chat).
"""

from __future__ import annotations

from typing import Any

from dataforge.core.hashing import canonical_json, text_id
from dataforge.core.records.messages import RecordError, check_messages, is_messages, messages_text

KINDS = ("text", "chat", "preference", "completion")
FIELDS = {"text": ("text",), "chat": ("messages", "tools", "chat_template_kwargs"),
          "preference": ("prompt", "chosen", "rejected"), "completion": ("prompt", "completion")}
REASON = {"preference": "bad_preference", "completion": "bad_completion"}


def detect_kind(obj: dict[str, Any], text_field: str = "text") -> str | None:
    """The kind of a decoded row (see the module docstring), or None when it has none."""
    def has(k: str) -> bool:
        return obj.get(k) is not None

    if has("messages"):
        return "chat"
    if has("chosen") and has("rejected"):
        return "preference"
    if has("prompt") and has("completion"):
        return "completion"
    if has(text_field):
        return "text"
    return None


def _tools(value: Any) -> list[dict[str, Any]] | None:
    if value is None or value == []:
        return None
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise RecordError("bad_tools")
    return value


def _kwargs(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError("bad_chat_template_kwargs")
    out = {k: v for k, v in value.items() if v is not None}  # a null key carries nothing
    if not isinstance(out.get("enable_thinking", False), bool):
        raise RecordError("bad_chat_template_kwargs")
    return out or None


def _turns(obj: dict[str, Any], names: tuple[str, ...], reason: str) -> dict[str, Any]:
    """Preference / completion fields: all strings, or all conversations."""
    present = [n for n in names if obj.get(n) is not None]
    if all(isinstance(obj[n], str) for n in present):
        return {n: obj[n] for n in present}
    if all(is_messages(obj[n]) for n in present):
        try:
            return {n: check_messages(obj[n]) for n in present}
        except RecordError as e:
            raise RecordError(e.reason if e.reason != "bad_messages" else reason) from None
    raise RecordError(reason)


def parse_body(obj: dict[str, Any], text_field: str = "text") -> tuple[str, dict[str, Any], tuple[str, ...]]:
    """(kind, the kind's fields in normal form, the input keys they came from); raises `RecordError`.

    Reasons: no_text, text_not_string, empty_text, bad_messages, bad_tool_calls, unsupported_message_field,
    bad_tools, bad_chat_template_kwargs, bad_preference, bad_completion.
    """
    kind = detect_kind(obj, text_field)
    if kind is None:
        raise RecordError("no_text")
    if kind == "text":
        text = obj[text_field]
        if not isinstance(text, str):
            raise RecordError("text_not_string")
        if not text.strip():
            raise RecordError("empty_text")
        return kind, {"text": text}, (text_field,)
    if kind == "chat":
        body: dict[str, Any] = {"messages": check_messages(obj["messages"])}
        tools, kwargs = _tools(obj.get("tools")), _kwargs(obj.get("chat_template_kwargs"))
        if tools is not None:
            body["tools"] = tools
        if kwargs is not None:
            body["chat_template_kwargs"] = kwargs
        return kind, body, FIELDS["chat"]
    names = ("prompt", "chosen", "rejected") if kind == "preference" else ("prompt", "completion")
    return kind, _turns(obj, names, REASON[kind]), names



def default_id(kind: str, body: dict[str, Any]) -> str:
    """The content hash an id-less record gets (see the module docstring)."""
    if kind == "text":
        return text_id(body["text"])
    if kind == "chat":
        return text_id(canonical_json(body["messages"]))
    return text_id(canonical_json({k: body[k] for k in FIELDS[kind] if k in body}))


def _flat(value: str | list | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else messages_text(value)


def judged_text(kind: str, body: dict[str, Any]) -> str:
    """The text filters and dedup judge a record by (see the module docstring)."""
    if kind == "text":
        return body["text"]
    if kind == "chat":
        return messages_text(body["messages"])
    second = body["chosen"] if kind == "preference" else body["completion"]
    parts = [_flat(body.get("prompt")), _flat(second)]
    return "\n\n".join(p for p in parts if p)


def layout_of(kind: str, body: dict[str, Any]) -> str:
    """Records of one layout share one Arrow schema: kind, plus form for preference and completion.

    text, chat, preference, preference_implicit, completion, each with `_conversational` when the
    fields are conversations (preference_conversational, preference_implicit_conversational, ...).
    """
    if kind in ("text", "chat"):
        return kind
    name = kind + ("_implicit" if kind == "preference" and "prompt" not in body else "")
    second = body["chosen"] if kind == "preference" else body["completion"]
    return name + ("_conversational" if isinstance(second, list) else "")
