"""Structs: the typed values that flow along a graph's edges.

A struct is a pydantic model. A sink struct becomes an output record of one of the contract's kinds
(dataforge.core.records): `preference` when it has `chosen` and `rejected` fields, `completion` when it
has `prompt` and `completion`, `chat` when it defines `messages` or overrides `to_messages`, else `text`
(`to_text`); `record_kind` overrides the inference. `to_record()` gives the kind's fields, and every
field the contract carries survives (tool calls, tool results, reasoning, tools, template kwargs).
Seed structs carry the seed document's `id`.
"""

from __future__ import annotations

import types
import typing
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Struct(BaseModel):
    """Base class of every struct.

    Example:
        class Question(Struct):
            passage: str
            question: str
    """

    # Structs are data, not specs, so they do not derive from `dataforge.core.spec.SpecModel`: user
    # functions build them field by field and may fill them in place, and a bad value in one is a bad
    # record (quarantined with its reason by the engine), not a spec error that stops the run.
    model_config = ConfigDict(extra="forbid")

    record_kind: ClassVar[str | None] = None  # a record kind (text/chat/preference/completion); None infers it
    text_field: ClassVar[str | None] = None  # the field a text record takes its text from (None: all fields)

    def to_text(self) -> str:
        """The text of a text record made from this struct (`text_field`, else `name: value` lines)."""
        if self.text_field is not None:
            return str(getattr(self, self.text_field))
        return "\n".join(f"{k}: {v}" for k, v in self.model_dump().items())

    def to_messages(self) -> list[dict[str, Any]]:
        """The messages of a chat record made from this struct (default: its `messages` field), with every
        field a message carries (`tool_calls`, `tool_call_id`, `name`, `reasoning_content`)."""
        messages = getattr(self, "messages", None)
        if messages is None:
            raise NotImplementedError(f"{type(self).__name__} has no messages; override to_messages()")
        return [_message(m) for m in messages]

    def to_record(self) -> dict[str, Any]:
        """The fields of the record this struct becomes (its kind's fields, see dataforge.core.records).

        Chat: `messages`, plus `tools` and `chat_template_kwargs` when the struct has them (and
        `enable_thinking` when it exposes one). Preference and completion: their turns as strings or as
        message lists. Override it for another mapping."""
        kind = self.kind_of_record()
        if kind == "text":
            return {"text": self.to_text()}
        if kind == "chat":
            body: dict[str, Any] = {"messages": self.to_messages()}
            kwargs = dict(getattr(self, "chat_template_kwargs", None) or {})
            if getattr(self, "enable_thinking", None) is not None:
                kwargs["enable_thinking"] = self.enable_thinking
            if kwargs:
                body["chat_template_kwargs"] = kwargs
            if getattr(self, "tools", None):
                body["tools"] = list(self.tools)
            return body
        names = ("prompt", "chosen", "rejected") if kind == "preference" else ("prompt", "completion")
        return {n: _turn(getattr(self, n)) for n in names if getattr(self, n, None) is not None}

    def record_metadata(self) -> dict[str, Any]:
        """Extra keys for the output record's `metadata` (beside the lineage under `generator`).

        A chat sink may also expose `enable_thinking` (a field or property) for `chat_template_kwargs`.
        """
        return {}

    @classmethod
    def kind_of_record(cls) -> str:
        if cls.record_kind is not None:
            return cls.record_kind
        fields = cls.model_fields
        if "chosen" in fields and "rejected" in fields:
            return "preference"
        if "prompt" in fields and "completion" in fields:
            return "completion"
        if "messages" in fields or cls.to_messages is not Struct.to_messages:
            return "chat"
        return "text"


def _message(m: Any) -> dict[str, Any]:
    """A message as the contract reads it: a dict as given, a `Message` without its unset fields."""
    if isinstance(m, dict):
        return dict(m)
    return m.model_dump(exclude_none=True) | {"content": m.content}


def _turn(value: Any) -> Any:
    """A preference/completion field: a string, or a conversation (list of messages)."""
    return value if isinstance(value, str) else [_message(m) for m in value]


class Message(BaseModel):
    """One chat message (OpenAI/HF format): `content` is a string, a list of parts, or None for an
    assistant turn that only calls tools; `tool_calls` are `{"id", "type", "function": {"name",
    "arguments"}}`; a tool result has role "tool" and the call's `tool_call_id`."""

    model_config = ConfigDict(extra="forbid")
    role: str
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None
    reasoning_content: str | None = None


class Document(Struct):
    """The usual seed: a document with an id, an optional title, and its text."""

    id: str
    text: str
    title: str = ""

    text_field: ClassVar[str | None] = "text"


class Chat(Struct):
    """A conversation; a graph whose sink is a `Chat` writes chat records.

    `thinking` becomes the record's `chat_template_kwargs.enable_thinking` (None leaves it unset);
    `tools` are the JSON schemas of the functions the conversation may call.
    """

    messages: list[Message]
    thinking: bool | None = None
    tools: list[dict[str, Any]] | None = None

    @property
    def enable_thinking(self) -> bool | None:
        return self.thinking


class Preference(Struct):
    """A preference pair; a graph whose sink is a `Preference` writes preference records (TRL's
    `prompt`/`chosen`/`rejected`). Strings, or conversations; `prompt` None is TRL's implicit form."""

    prompt: str | list[Message] | None = None
    chosen: str | list[Message]
    rejected: str | list[Message]


class PromptCompletion(Struct):
    """A prompt and its completion (TRL's `prompt`/`completion`): strings, or conversations."""

    prompt: str | list[Message]
    completion: str | list[Message]


def field_types(cls: type[BaseModel]) -> dict[str, Any]:
    return {name: f.annotation for name, f in cls.model_fields.items()}


def required_fields(cls: type[BaseModel]) -> list[str]:
    return [name for name, f in cls.model_fields.items() if f.is_required()]


def type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def is_assignable(src: Any, dst: Any) -> bool:
    """Whether a value of annotation `src` always fits annotation `dst` (a conservative check)."""
    if dst is Any or src == dst:
        return True
    d_origin, s_origin = typing.get_origin(dst), typing.get_origin(src)
    if d_origin in (typing.Union, types.UnionType):
        s_args = typing.get_args(src) if s_origin in (typing.Union, types.UnionType) else (src,)
        return all(any(is_assignable(s, d) for d in typing.get_args(dst)) for s in s_args)
    if dst is float and src is int:
        return True
    if d_origin is not None and s_origin == d_origin:
        s_args, d_args = typing.get_args(src), typing.get_args(dst)
        return len(s_args) == len(d_args) and all(is_assignable(s, d) for s, d in zip(s_args, d_args, strict=True))
    if isinstance(src, type) and isinstance(dst, type) and d_origin is None and s_origin is None:
        return issubclass(src, dst)
    return False


def struct_schema(cls: type[BaseModel], fields: list[str] | None = None) -> dict[str, Any]:
    """The JSON schema of `cls` (restricted to `fields`), in declaration order, for constrained decoding."""
    schema = cls.model_json_schema()
    if fields is not None:
        props = schema.get("properties", {})
        schema = {**schema, "properties": {k: props[k] for k in fields},
                  "required": [k for k in schema.get("required", []) if k in fields]}
    schema.pop("title", None)
    for p in schema.get("properties", {}).values():
        p.pop("title", None)
    return schema
