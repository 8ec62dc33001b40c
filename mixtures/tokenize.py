"""Executor-side tokenization: one Arrow batch of records in, one batch of token arrays out.

Text records are encoded in batches by the Rust tokenizer behind the HF fast tokenizer, with EOS appended.
Chat records are rendered with their source's chat settings (template, role names, system-prompt
policy: mixtures/templates.py) into one or more text segments (mixtures/chat_render.py: one for most
templates, one per rewritten turn for templates that rewrite earlier turns); the assistant-token mask is
built from the character span of each trained assistant turn and the tokens' offsets. Completion records
are in mixtures/completions.py. A record that cannot be tokenized comes out with a quarantine `reason`
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
from mixtures.chat_render import ChatRenderError, Segment, prepare, segments

TOKENIZED_DDL = ("src int, doc_id string, key long, chash long, ntok long, tokens binary, mask binary, "
                 "reason string, split long")
_SCHEMA = pa.schema([("src", pa.int32()), ("doc_id", pa.string()), ("key", pa.int64()), ("chash", pa.int64()),
                     ("ntok", pa.int64()), ("tokens", pa.binary()), ("mask", pa.binary()), ("reason", pa.string()),
                    ("split", pa.int64())])  # split: a preference pair's chosen length (mixtures/pairs.py)


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


def assistant_spans(chat, messages: list[dict[str, Any]], kwargs: dict[str, Any]) -> tuple[str, list[tuple[int, int]]]:
    """Render `messages` with a ChatRenderer as one text; return it and the [start, end) character span of
    each assistant turn. A template that needs several segments (mixtures/chat_render.py) is refused here."""
    segs = segments(chat, messages, kwargs)
    if len(segs) != 1:
        raise ChatRenderError("chat_template_not_incremental",
                              "the template renders a conversation prefix differently from the whole")
    return segs[0]


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


def render_conversation(chat, messages: list[dict[str, Any]], kwargs: dict[str, Any], settings: dict[str, Any],
                        train_from: int = 0) -> list[Segment]:
    """A checked conversation's segments (mixtures/chat_render.py) under a source's chat settings; assistant
    turns from index `train_from` on are trained. Raises ChatRenderError."""
    from mixtures.chat_input import template_drops

    if chat is None:
        raise ChatRenderError("no_chat_template")
    dropped = template_drops(chat.template, messages, kwargs.get("tools"))
    if dropped is not None:
        raise ChatRenderError(dropped)
    msgs, inserted = prepare(messages, settings)
    return segments(chat, msgs, kwargs, settings, train_from + inserted if train_from else 0)


def source_renderer(payload: dict, settings: dict[str, Any] | None) -> tuple[Any, dict[str, Any]]:
    """(ChatRenderer or None, settings) for a source; no settings: the tokenizer's template as it is."""
    from mixtures.tokenizer import chat_renderer

    settings = settings or {"template": payload.get("chat_template")}
    template = settings.get("template")
    return (chat_renderer(payload, template) if template else None), settings


def emit_rendered(rows, src: int, source: str, rust, rendered: list[tuple[str, list[Segment]]]) -> None:
    """Encode every segment of a batch at once; a record's tokens and mask are its segments', in order."""
    texts = [text for _, segs in rendered for text, _ in segs]
    encodings = iter(rust.encode_batch(texts, add_special_tokens=False) if texts else [])
    for doc_id, segs in rendered:
        toks, masks = [], []
        for _, spans in segs:
            enc = next(encodings)
            ids = np.asarray(enc.ids, dtype=np.uint32)
            starts = np.asarray([o[0] for o in enc.offsets], dtype=np.int64)
            mask = np.zeros(len(ids), dtype=np.uint8)
            for a, b in spans:
                mask[(starts >= a) & (starts < b)] = 1
            toks.append(ids)
            masks.append(mask)
        _emit(rows, src, source, doc_id, np.concatenate(toks), np.concatenate(masks))


def tokenize_chat_batches(batches: Iterator[pa.RecordBatch], *, src: int, source: str, payload: dict,
                          settings: dict[str, Any] | None = None) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for a chat source: Parquet columns (`id`, `messages`, ...) or JSONL lines (`value`),
    read by `mixtures.chat_input.chat_records`, rendered with the source's chat settings
    (`ChatSettings.payload()`; None: the tokenizer's template)."""
    from mixtures.chat_input import chat_records
    from mixtures.tokenizer import rust_tokenizer

    (chat, settings), rust = source_renderer(payload, settings), rust_tokenizer(payload)
    for batch in batches:
        rows, rendered = _new_rows(), []
        for doc_id, raw, kwargs, reason in chat_records(batch):
            try:
                if reason is not None:
                    raise ChatRenderError(reason)
                messages = _check_messages(raw)
                doc_id = doc_id or text_id(canonical_json(messages))
                rendered.append((doc_id, render_conversation(chat, messages, kwargs, settings)))
            except ChatRenderError as e:
                _emit(rows, src, source, doc_id or text_id(canonical_json(raw)), None, None, e.reason)
            except Exception:  # noqa: BLE001 - a template error on one record must not crash the job
                _emit(rows, src, source, doc_id or text_id(canonical_json(raw)), None, None, "chat_template_error")
        emit_rendered(rows, src, source, rust, rendered)
        yield _out_batch(rows)
