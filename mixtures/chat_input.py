"""Chat records as a mixture reads them: through the record contract, with a reason for what it cannot carry.

Records arrive as Arrow batches, read executor-side: from Parquet in the contract's Arrow form (columns
`id`, `messages`, optional `chat_template_kwargs`, `tools`), or from JSONL as raw lines (column `value`)
parsed here, because Spark's JSON inference turns a `content` that is a string in some records and a list
in others into the list's JSON text, which would then be trained on as if it were the message.

Every field the contract carries reaches the chat template: `tool_calls`, `tool_call_id`, `name`,
`reasoning_content` in the messages, the record's `tools` (as `tools=`) and its `chat_template_kwargs`.
What a mixture still cannot carry is quarantined, never trimmed: a message field outside the contract
(`unsupported_message_field`), content given as a list of parts (a mixture trains on text:
`unsupported_message_field`), and a field the chat template never mentions, so rendering would drop it
(`template_drops_tool_calls`, `template_drops_tool_call_id`, `template_drops_name`,
`template_drops_reasoning_content`, `template_drops_tools`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from dataforge.core.hashing import canonical_json, text_id
from dataforge.core.records import FIELDS, RecordError, default_id, from_arrow_form, parse_body

UNSUPPORTED_MESSAGE = "unsupported_message_field"
BAD_JSON = "bad_json"
# contract failures the renderer's own checks name better (empty_messages, bad_message)
LEFT_TO_RENDERER = frozenset({"bad_messages", "no_text"})


def template_drops(template: str, messages: list[dict[str, Any]], tools: Any) -> str | None:
    """The quarantine reason when the chat template never reads a field the record carries, else None."""
    template = template or ""
    if tools and not re.search(r"\btools\b", template):
        return "template_drops_tools"
    for field in ("tool_calls", "tool_call_id", "name", "reasoning_content"):
        # a message field is read as `message.field` or `message['field']`
        if any(m.get(field) for m in messages) and not re.search(rf"\.{field}\b|\[['\"]{field}['\"]\]", template):
            return f"template_drops_{field}"
    return None


def _record(obj: dict, fallback_id: str) -> tuple[str | None, Any, dict, str | None]:
    """(id, messages in normal form or the raw value, template kwargs incl. `tools`, reason or None)."""
    doc_id = obj.get("id")
    doc_id = str(doc_id) if doc_id is not None and doc_id != "" else None
    raw = obj.get("messages")
    try:
        kind, body, _ = parse_body({k: obj.get(k) for k in ("messages", "tools", "chat_template_kwargs")})
    except RecordError as e:
        if e.reason in LEFT_TO_RENDERER:
            return doc_id, raw, {}, None
        return doc_id or fallback_id, raw, {}, e.reason
    messages = body["messages"]
    if any(isinstance(m["content"], list) for m in messages):
        return doc_id or fallback_id, raw, {}, UNSUPPORTED_MESSAGE
    kwargs = dict(body.get("chat_template_kwargs") or {})
    if body.get("tools"):
        kwargs["tools"] = body["tools"]
    return doc_id or default_id(kind, body), messages, kwargs, None


def batch_objects(batch: pa.RecordBatch) -> Iterator[tuple[Any, str | None]]:
    """(decoded object, or None when the line is not JSON; the raw line, or None for Parquet) per record:
    JSONL lines (column `value`) or Parquet rows in the contract's Arrow form."""
    if "value" in batch.schema.names:  # JSONL lines
        for line in batch.column("value").to_pylist():
            if line is None or not line.strip():
                continue
            try:
                yield json.loads(line), line
            except json.JSONDecodeError:
                yield None, line
        return
    cols = {n: batch.column(n).to_pylist() for n in batch.schema.names}
    for i in range(batch.num_rows):
        yield from_arrow_form({n: cols[n][i] for n in cols}), None


def chat_records(batch: pa.RecordBatch) -> Iterator[tuple[str | None, Any, dict, str | None]]:
    """(id or None, messages, template kwargs, quarantine reason or None) per record of a batch.

    A record with a reason already has an id (its own, else a hash of what was read); a record the
    renderer must still check may have none (it gets one from its messages once they are checked)."""
    for obj, line in batch_objects(batch):
        if not isinstance(obj, dict):
            yield text_id(line or ""), None, {}, BAD_JSON
            continue
        yield _record(obj, text_id(line) if line is not None else text_id(canonical_json(obj.get("messages"))))


def kind_records(batch: pa.RecordBatch, kind: str) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """(id, the kind's fields in normal form or None, quarantine reason or None) per record of a batch of
    completion or preference records; a record of another kind is `bad_completion` / `bad_preference`."""
    for obj, line in batch_objects(batch):
        if not isinstance(obj, dict):
            yield text_id(line or ""), None, BAD_JSON
            continue
        own = obj.get("id")
        own = str(own) if own is not None and own != "" else None
        try:
            got, body, _ = parse_body({k: obj.get(k) for k in FIELDS[kind]})
            if got != kind:
                raise RecordError(f"bad_{kind}")
        except RecordError as e:
            yield own or text_id(line if line is not None else canonical_json(obj)), None, e.reason
            continue
        yield own or default_id(kind, body), body, None
