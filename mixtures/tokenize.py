"""Executor-side tokenization: one Arrow batch of records in, one batch of token arrays out.

Text records are encoded in batches by the Rust tokenizer behind the HF fast tokenizer, with EOS appended.
Chat records are rendered with the tokenizer's chat template; the assistant-token mask is built from the
character span of each assistant turn and the tokens' offsets. Spans come from `{% generation %}` markers
when the template has them, else from rendering the conversation prefix by prefix, so templates without
markers (most of them) work too. A record that cannot be tokenized comes out with a quarantine `reason`
instead of tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from dataforge.core.hashing import canonical_json, text_id
from dataforge.core.records import ROLES

TOKENIZED_DDL = ("src int, doc_id string, key long, chash long, ntok long, tokens binary, mask binary, "
                 "reason string, split long")
_SCHEMA = pa.schema([("src", pa.int32()), ("doc_id", pa.string()), ("key", pa.int64()), ("chash", pa.int64()),
                     ("ntok", pa.int64()), ("tokens", pa.binary()), ("mask", pa.binary()), ("reason", pa.string()),
                    ("split", pa.int64())])  # split: a preference pair's chosen length (mixtures/pairs.py)


class ChatRenderError(ValueError):
    """A conversation the template cannot render with a usable assistant mask; `reason` is the quarantine tag."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(detail or reason)
        self.reason = reason


def doc_key(source: str, doc_id: str) -> int:
    """A signed 64-bit key for (source, record id): what the sampling plan and the join refer to."""
    d = hashlib.blake2b(f"{source}\x00{doc_id}".encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(d, "little", signed=True)


def _content_hash(tokens: bytes, mask: bytes | None, split: int | None = None) -> int:
    h = hashlib.blake2b(tokens, digest_size=8)
    if mask is not None:
        h.update(mask)
    if split is not None:  # the same tokens cut elsewhere are another pair
        h.update(split.to_bytes(8, "little"))
    return int.from_bytes(h.digest(), "little", signed=True)


def assistant_spans(chat, messages: list[dict[str, str]], kwargs: dict[str, Any]) -> tuple[str, list[tuple[int, int]]]:
    """Render `messages` with a ChatRenderer; return the text and the [start, end) character span of each
    assistant turn (from `{% generation %}` markers when the template has them, else prefix by prefix)."""
    if not any(m["role"] == "assistant" for m in messages):
        raise ChatRenderError("no_assistant_turn")
    if chat.marked:
        full, marked = chat.render(messages, spans=True, **kwargs)
        if marked:
            return full, [(int(a), int(b)) for a, b in marked]
    full, _ = chat.render(messages, **kwargs)
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        before = chat.render(messages[:i], add_generation_prompt=True, **kwargs)[0] if i else ""
        upto = chat.render(messages[: i + 1], **kwargs)[0]
        if not (full.startswith(before) and full.startswith(upto) and len(upto) > len(before)):
            raise ChatRenderError("chat_template_not_incremental",
                                  "the template renders a conversation prefix differently from the whole")
        end = len(upto)
        while end > len(before) and upto[end - 1].isspace():  # no loss on the newline after end-of-turn
            end -= 1
        spans.append((len(before), end))
    return full, spans


def _check_messages(raw: Any) -> list[dict[str, Any]]:
    """Messages as the template gets them: every contract field kept (see mixtures.chat_input)."""
    if not raw:
        raise ChatRenderError("empty_messages")
    if not isinstance(raw, list):
        raise ChatRenderError("bad_message")
    out = []
    for m in raw:
        role, content = (m.get("role"), m.get("content")) if isinstance(m, dict) else (None, None)
        if role not in ROLES or not (isinstance(content, str) or (content is None and m.get("tool_calls"))):
            raise ChatRenderError("bad_message")
        out.append(m)
    return out


def _out_batch(rows: dict[str, list]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(rows, schema=_SCHEMA)


def _new_rows() -> dict[str, list]:
    return {name: [] for name in _SCHEMA.names}


def _emit(rows, src, source, doc_id, tokens: np.ndarray | None, mask: np.ndarray | None, reason=None,
          split: int | None = None):
    rows["src"].append(src)
    rows["doc_id"].append(doc_id)
    rows["key"].append(doc_key(source, doc_id))
    rows["split"].append(None if reason is not None else split)
    if reason is not None:
        for k, v in (("chash", 0), ("ntok", 0), ("tokens", None), ("mask", None), ("reason", reason)):
            rows[k].append(v)
        return
    tb = tokens.astype("<u4", copy=False).tobytes()
    mb = None if mask is None else mask.astype(np.uint8, copy=False).tobytes()
    rows["chash"].append(_content_hash(tb, mb, split))
    rows["ntok"].append(len(tokens))
    rows["tokens"].append(tb)
    rows["mask"].append(mb)
    rows["reason"].append(None)


SLICE_ROWS = 512


def _slices(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """Arrow batches cut to at most SLICE_ROWS rows (zero-copy): an output batch of token bytes stays
    a few MB whatever batch size Spark sends in."""
    for batch in batches:
        for start in range(0, batch.num_rows, SLICE_ROWS):
            yield batch.slice(start, SLICE_ROWS)


def tokenize_text_batches(batches: Iterator[pa.RecordBatch], *, src: int, source: str, payload: dict,
                          eos_id: int | None) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for a text source: columns `id`, `text`."""
    from mixtures.tokenizer import rust_tokenizer

    tok = rust_tokenizer(payload)
    tail = np.array([eos_id], dtype=np.uint32) if eos_id is not None else np.zeros(0, dtype=np.uint32)
    for batch in _slices(batches):
        ids, texts = batch.column("id").to_pylist(), batch.column("text").to_pylist()
        rows, good = _new_rows(), []
        for i, t in enumerate(texts):
            if t is None or t == "":
                _emit(rows, src, source, ids[i] or "", None, None, "null_text" if t is None else "empty_text")
            else:
                good.append(i)
        encodings = tok.encode_batch_fast([texts[i] for i in good], add_special_tokens=False) if good else []
        for i, enc in zip(good, encodings, strict=True):
            toks = np.concatenate([np.asarray(enc.ids, dtype=np.uint32), tail])
            _emit(rows, src, source, ids[i] or text_id(texts[i]), toks, None)
        yield _out_batch(rows)


def tokenize_chat_batches(batches: Iterator[pa.RecordBatch], *, src: int, source: str,
                          payload: dict) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for a chat source: Parquet columns (`id`, `messages`, ...) or JSONL lines (`value`),
    read by `mixtures.chat_input.chat_records`."""
    from mixtures.chat_input import chat_records, template_drops
    from mixtures.tokenizer import chat_renderer, rust_tokenizer

    chat, rust = chat_renderer(payload), rust_tokenizer(payload)
    for batch in batches:
        rows, rendered = _new_rows(), []
        for doc_id, raw, kwargs, reason in chat_records(batch):
            try:
                if reason is not None:
                    raise ChatRenderError(reason)
                messages = _check_messages(raw)
                doc_id = doc_id or text_id(canonical_json(messages))
                dropped = template_drops(chat.template, messages, kwargs.get("tools"))
                if dropped is not None:
                    raise ChatRenderError(dropped)
                text, spans = assistant_spans(chat, messages, kwargs)
                rendered.append((doc_id, text, spans))
            except ChatRenderError as e:
                _emit(rows, src, source, doc_id or text_id(canonical_json(raw)), None, None, e.reason)
            except Exception:  # noqa: BLE001 - a template error on one record must not crash the job
                _emit(rows, src, source, doc_id or text_id(canonical_json(raw)), None, None, "chat_template_error")
        encodings = rust.encode_batch([t for _, t, _ in rendered], add_special_tokens=False) if rendered else []
        for (doc_id, _, spans), enc in zip(rendered, encodings, strict=True):
            toks = np.asarray(enc.ids, dtype=np.uint32)
            starts = np.asarray([o[0] for o in enc.offsets], dtype=np.int64)
            mask = np.zeros(len(toks), dtype=np.uint8)
            for a, b in spans:
                mask[(starts >= a) & (starts < b)] = 1
            _emit(rows, src, source, doc_id, toks, mask)
        yield _out_batch(rows)
