"""The two record types every layer speaks.

Text records: `id`, `text`, `source`, `metadata`. Chat records: `id`, `messages` (OpenAI/HF format,
`[{"role", "content"}]`), `source`, `metadata`, and optional `chat_template_kwargs`. Both live in
Parquet; `metadata` is a JSON object stored as a string so heterogeneous lineage fits one column.
A record keeps its id through every layer, so ledgers, lineage and mixtures can point back to it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from dataforge.core.hashing import canonical_json, text_id

TEXT_SCHEMA = pa.schema(
    [("id", pa.string()), ("text", pa.string()), ("source", pa.string()), ("metadata", pa.string())]
)
MESSAGE_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
CHAT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("messages", pa.list_(MESSAGE_TYPE)),
        ("source", pa.string()),
        ("metadata", pa.string()),
        ("chat_template_kwargs", pa.struct([("enable_thinking", pa.bool_())])),
    ]
)
# The same schemas as Spark DDL, for DataFrames built executor-side.
TEXT_DDL = "id string, text string, source string, metadata string"
CHAT_DDL = (
    "id string, messages array<struct<role:string,content:string>>, source string, metadata string, "
    "chat_template_kwargs struct<enable_thinking:boolean>"
)
ROLES = frozenset({"system", "user", "assistant", "tool"})


def dump_metadata(metadata: dict[str, Any] | None) -> str:
    return canonical_json(metadata or {})


def load_metadata(raw: str | None) -> dict[str, Any]:
    return json.loads(raw) if raw else {}


@dataclass(slots=True)
class TextRecord:
    """A document. `id` defaults to a content hash of `text` when the input had none."""

    text: str
    id: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = text_id(self.text)

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "source": self.source, "metadata": dump_metadata(self.metadata)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TextRecord:
        return cls(text=row["text"], id=row["id"], source=row.get("source") or "",
                   metadata=load_metadata(row.get("metadata")))


@dataclass(slots=True)
class ChatRecord:
    """A conversation in OpenAI/HF message format, readable by `tokenizer.apply_chat_template` as is."""

    messages: list[dict[str, str]]
    id: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    enable_thinking: bool | None = None

    def __post_init__(self) -> None:
        for i, m in enumerate(self.messages):
            if set(m) != {"role", "content"} or m["role"] not in ROLES or not isinstance(m["content"], str):
                raise ValueError(f"messages[{i}] must be {{'role', 'content'}} with role in {sorted(ROLES)}")
        if not self.id:
            self.id = text_id(canonical_json(self.messages))

    def to_row(self) -> dict[str, Any]:
        kwargs = None if self.enable_thinking is None else {"enable_thinking": self.enable_thinking}
        return {"id": self.id, "messages": [dict(m) for m in self.messages], "source": self.source,
                "metadata": dump_metadata(self.metadata), "chat_template_kwargs": kwargs}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChatRecord:
        kwargs = row.get("chat_template_kwargs") or {}
        return cls(messages=[{"role": m["role"], "content": m["content"]} for m in row["messages"]],
                   id=row["id"], source=row.get("source") or "", metadata=load_metadata(row.get("metadata")),
                   enable_thinking=kwargs.get("enable_thinking"))


def schema_for(kind: str) -> pa.Schema:
    if kind not in ("text", "chat"):
        raise ValueError(f"record kind must be 'text' or 'chat', got {kind!r}")
    return TEXT_SCHEMA if kind == "text" else CHAT_SCHEMA


def kind_of(schema: pa.Schema) -> str:
    """'chat' when a dataset has `messages`, 'text' when it has `text`."""
    names = set(schema.names)
    if "messages" in names:
        return "chat"
    if "text" in names:
        return "text"
    raise ValueError(f"records need a 'text' or a 'messages' column, found {sorted(names)}")
