"""Completion records (`prompt` + `completion`) in a mixture: trained like SFT, loss on the completion only.

Standard form (both strings): tokens = tokens(prompt) + tokens(completion) + EOS (EOS when the mixture's
`append_eos`, the default), the mask 1 on the completion and EOS. Prompt and completion are tokenized
apart, as the prompt is at inference, so no token straddles the boundary and decoding the tokens gives
prompt + completion + the EOS text byte for byte.

Conversational form (both lists of messages): prompt messages + completion messages rendered with the
source's chat settings like a chat record (mixtures/chat_render.py), the mask on the assistant turns of
the completion only (assistant turns inside the prompt are context).

Records are read from Parquet in the contract's Arrow form or from JSONL lines (column `value`), and
checked by the record contract; what it refuses is quarantined with its reason (`bad_completion`, ...),
an empty string completion as `empty_completion`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from mixtures.chat_input import kind_records
from mixtures.tokenize import (
    ChatRenderError,
    _emit,
    _new_rows,
    _out_batch,
    emit_rendered,
    render_conversation,
    source_renderer,
)

COLUMNS = ("id", "prompt", "completion")


def completion_records(batch: pa.RecordBatch) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    """(id, body {prompt, completion} in normal form or None, quarantine reason or None) per record."""
    return kind_records(batch, "completion")


def tokenize_completion_batches(batches: Iterator[pa.RecordBatch], *, src: int, source: str, payload: dict,
                                eos_id: int | None, settings: dict[str, Any] | None = None) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for a completion source (columns `id`, `prompt`, `completion`, or JSONL `value`)."""
    from mixtures.tokenizer import rust_tokenizer

    rust = rust_tokenizer(payload)
    chat, settings = source_renderer(payload, settings)
    tail = np.array([eos_id] if eos_id is not None else [], dtype=np.uint32)
    for batch in batches:
        rows, plain, rendered = _new_rows(), [], []
        for doc_id, body, reason in completion_records(batch):
            try:
                if reason is not None:
                    raise ChatRenderError(reason)
                if isinstance(body["completion"], str):
                    if not body["completion"]:
                        raise ChatRenderError("empty_completion")
                    plain.append((doc_id, body.get("prompt") or "", body["completion"]))
                    continue
                prompt = body.get("prompt") or []
                rendered.append((doc_id, render_conversation(chat, [*prompt, *body["completion"]], {}, settings,
                                                             train_from=len(prompt))))
            except ChatRenderError as e:
                _emit(rows, src, source, doc_id, None, None, e.reason)
            except Exception:  # noqa: BLE001 - a template error on one record must not crash the job
                _emit(rows, src, source, doc_id, None, None, "chat_template_error")
        if plain:
            encs = rust.encode_batch_fast([t for _, p, c in plain for t in (p, c)], add_special_tokens=False)
            for j, (doc_id, _, _) in enumerate(plain):
                p = np.asarray(encs[2 * j].ids, dtype=np.uint32)
                c = np.concatenate([np.asarray(encs[2 * j + 1].ids, dtype=np.uint32), tail])
                mask = np.concatenate([np.zeros(len(p), np.uint8), np.ones(len(c), np.uint8)])
                _emit(rows, src, source, doc_id, np.concatenate([p, c]), mask)
        emit_rendered(rows, src, source, rust, rendered)
        yield _out_batch(rows)
