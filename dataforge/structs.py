"""Structs: the typed values that flow along a graph's edges.

A struct is a pydantic model. Sink structs become output records: a chat record when the struct
defines `messages` or overrides `to_messages`, else a text record (`to_text`). Seed structs carry the
seed document's `id`.
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

    record_kind: ClassVar[str | None] = None  # "text" or "chat"; None infers it (see `kind_of_record`)
    text_field: ClassVar[str | None] = None  # the field a text record takes its text from (None: all fields)

    def to_text(self) -> str:
        """The text of a text record made from this struct (`text_field`, else `name: value` lines)."""
        if self.text_field is not None:
            return str(getattr(self, self.text_field))
        return "\n".join(f"{k}: {v}" for k, v in self.model_dump().items())

    def to_messages(self) -> list[dict[str, str]]:
        """The messages of a chat record made from this struct (default: its `messages` field)."""
        messages = getattr(self, "messages", None)
        if messages is None:
            raise NotImplementedError(f"{type(self).__name__} has no messages; override to_messages()")
        return [{"role": m["role"], "content": m["content"]} if isinstance(m, dict) else
                {"role": m.role, "content": m.content} for m in messages]

    def record_metadata(self) -> dict[str, Any]:
        """Extra keys for the output record's `metadata` (beside the lineage under `generator`).

        A chat sink may also expose `enable_thinking` (a field or property) for `chat_template_kwargs`.
        """
        return {}

    @classmethod
    def kind_of_record(cls) -> str:
        if cls.record_kind is not None:
            return cls.record_kind
        if "messages" in cls.model_fields or cls.to_messages is not Struct.to_messages:
            return "chat"
        return "text"


class Message(BaseModel):
    """One chat message (OpenAI/HF format)."""

    model_config = ConfigDict(extra="forbid")
    role: str
    content: str


class Document(Struct):
    """The usual seed: a document with an id, an optional title, and its text."""

    id: str
    text: str
    title: str = ""

    text_field: ClassVar[str | None] = "text"


class Chat(Struct):
    """A conversation; a graph whose sink is a `Chat` writes chat records.

    `thinking` becomes the record's `chat_template_kwargs.enable_thinking` (None leaves it unset).
    """

    messages: list[Message]
    thinking: bool | None = None

    @property
    def enable_thinking(self) -> bool | None:
        return self.thinking


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
