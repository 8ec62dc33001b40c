"""Chat records as a mixture reads them: what it can carry, and a quarantine reason for the rest.

A mixture renders each message's `role` and string `content` with the chat template, plus the record's
`chat_template_kwargs`. Anything else would be lost in rendering: message fields such as `tool_calls`,
`tool_call_id`, `name`, `reasoning_content`, content given as a list of parts, or a record's `tools`.
Such a record is quarantined (`unsupported_message_field`, `unsupported_record_field`), never trimmed.

Records arrive as Arrow batches, read executor-side: from Parquet with their full message structs
(columns `id`, `messages`, optional `chat_template_kwargs`, `tools`), or from JSONL as raw lines (column
`value`) parsed here, because Spark's JSON inference turns a `content` that is a string in some records and
a list in others into the list's JSON text, which would then be trained on as if it were the message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from dataforge.core.hashing import canonical_json, text_id

CARRIED = frozenset({"role", "content"})
UNSUPPORTED_MESSAGE = "unsupported_message_field"
UNSUPPORTED_RECORD = "unsupported_record_field"
BAD_JSON = "bad_json"
BAD_KWARGS = "bad_chat_template_kwargs"


def _present(v: Any) -> bool:
    return v is not None and v != "" and v != [] and v != {}


def unsupported(messages: Any, tools: Any = None) -> str | None:
    """The quarantine reason when rendering would drop something the record carries, else None."""
    if _present(tools):
        return UNSUPPORTED_RECORD
    for m in messages if isinstance(messages, list) else []:
        if not isinstance(m, dict):
            continue  # the renderer's own check quarantines it as bad_message
        if any(k not in CARRIED and _present(v) for k, v in m.items()):
            return UNSUPPORTED_MESSAGE
        if m.get("content") is not None and not isinstance(m.get("content"), str):
            return UNSUPPORTED_MESSAGE
    return None


def _kwargs(raw: Any) -> dict | None:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return None
    return {k: v for k, v in raw.items() if v is not None}


def _record(obj: dict, fallback_id: str) -> tuple[str, Any, dict, str | None]:
    raw = obj.get("messages")
    doc_id = obj.get("id")
    doc_id = str(doc_id) if doc_id is not None and doc_id != "" else None
    kwargs = _kwargs(obj.get("chat_template_kwargs"))
    reason = unsupported(raw, obj.get("tools")) or (BAD_KWARGS if kwargs is None else None)
    if doc_id is None and reason is not None:
        doc_id = fallback_id
    return doc_id, raw, kwargs or {}, reason


def chat_records(batch: pa.RecordBatch) -> Iterator[tuple[str | None, Any, dict, str | None]]:
    """(id or None, raw messages, chat_template_kwargs, quarantine reason or None) per record of a batch.

    A record with a reason already has an id (its own, else a hash of what was read); otherwise a record
    without an id gets one from its messages later, once they are checked."""
    if "value" in batch.schema.names:  # JSONL lines
        for line in batch.column("value").to_pylist():
            if line is None or not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                obj = None
            if not isinstance(obj, dict):
                yield text_id(line), None, {}, BAD_JSON
                continue
            yield _record(obj, text_id(line))
        return
    cols = {n: batch.column(n).to_pylist() for n in batch.schema.names}
    for i in range(batch.num_rows):
        obj = {n: cols[n][i] for n in cols}
        yield _record(obj, text_id(canonical_json(obj.get("messages"))))
