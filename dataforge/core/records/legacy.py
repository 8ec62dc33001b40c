"""Typed builders for the generator: `TextRecord` and `ChatRecord` produce contract rows.

They are thin conveniences over the contract (kinds.py, arrow.py): the default id, the message checks
and the Arrow row all come from there, so a generated record is byte-identical to the same record
curated from JSONL.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dataforge.core.records.arrow import dump_metadata, load_metadata, record_from_row, record_to_row
from dataforge.core.records.kinds import default_id
from dataforge.core.records.messages import ROLES, RecordError, check_message


@dataclass(slots=True)
class TextRecord:
    """A document. `id` defaults to the contract's content hash of `text` when the input had none."""

    text: str
    id: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.id:
            self.id = default_id("text", {"text": self.text})

    def to_row(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "source": self.source, "metadata": dump_metadata(self.metadata)}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> TextRecord:
        return cls(text=row["text"], id=row["id"], source=row.get("source") or "",
                   metadata=load_metadata(row.get("metadata")))


@dataclass(slots=True)
class ChatRecord:
    """A conversation in OpenAI/HF message format, readable by `tokenizer.apply_chat_template` as is."""

    messages: list[dict[str, Any]]
    id: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    enable_thinking: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.messages, list) or not self.messages:
            raise ValueError("messages must be a non-empty list")
        checked = []
        for i, m in enumerate(self.messages):
            try:
                checked.append(check_message(m))
            except RecordError as e:
                raise ValueError(f"messages[{i}]: {e.reason} (roles {', '.join(sorted(ROLES))}; content a string, "
                                 "a list of parts, or null with tool_calls)") from None
        self.messages = checked
        if not self.id:
            self.id = default_id("chat", {"messages": self.messages})

    def to_row(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"id": self.id, "messages": self.messages, "source": self.source,
                               "metadata": self.metadata}
        if self.enable_thinking is not None:
            rec["chat_template_kwargs"] = {"enable_thinking": self.enable_thinking}
        return record_to_row(rec)[1]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ChatRecord:
        rec = record_from_row(row)
        return cls(messages=rec["messages"], id=rec["id"], source=rec["source"], metadata=rec["metadata"],
                   enable_thinking=(rec.get("chat_template_kwargs") or {}).get("enable_thinking"))
