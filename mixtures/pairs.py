"""Preference records in a mixture: each record becomes a chosen and a rejected sequence, kept as a pair.

A record (`prompt` optional, `chosen`, `rejected`; strings or conversations, see dataforge.core.records)
is tokenized the way TRL's DPOTrainer does it, so a pair trains on the same tokens here and there:

- string form: `prompt + answer + EOS`, tokenized as one text; conversational form: `prompt + answer`
  rendered with the tokenizer's chat template (the prompt alone is rendered with the generation prompt);
- the answer starts where the tokens of the prompt alone and of prompt + answer diverge; the loss mask
  covers the answer tokens only;
- an implicit prompt (no `prompt` field) is the longest common prefix of chosen and rejected.

A pair is one "document" of the tokenized output: the chosen tokens, then the rejected ones, with
`split` = the chosen length. The planner never cuts a pair: a preference stage takes whole pairs from the
source's epoch stream, each one piece, and a pair with either sequence longer than the stage's seq_len is
quarantined (`pair_exceeds_seq_len`) instead of truncated.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from dataforge.core.records import RecordError
from mixtures.chat_input import kind_records

TOO_LONG = "pair_exceeds_seq_len"
FIELDS = ("id", "prompt", "chosen", "rejected")


def extract_prompt(chosen, rejected):
    """TRL's implicit-prompt rule: the longest common prefix of chosen and rejected (strings: without a
    trailing space; conversations: whole messages). Returns (prompt, chosen, rejected)."""
    idx = 0
    for idx in range(min(len(chosen), len(rejected))):
        if chosen[idx] != rejected[idx]:
            if idx and chosen[idx - 1] == " ":
                idx -= 1
            break
    return chosen[:idx], chosen[idx:], rejected[idx:]


def preference_records(batch: pa.RecordBatch) -> Iterator[tuple[str, dict | None, str | None]]:
    """Per record of a batch: (id, body or None, quarantine reason or None); see `kind_records`."""
    return kind_records(batch, "preference")


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(diff[0]) if len(diff) else n


def _sequence(rust, chat, prompt, answer, eos: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Tokens and answer mask of prompt + answer (TRL's tokenization)."""
    if isinstance(answer, list):
        if chat is None:
            raise RecordError("no_chat_template")
        head = chat.render(prompt, add_generation_prompt=True)[0] if prompt else ""
        full = chat.render(prompt + answer)[0]
    else:
        if eos is not None and not answer.endswith(eos):
            answer = answer + eos
        head, full = prompt, prompt + answer
    ids = rust.encode(full, add_special_tokens=False).ids
    start = _common_prefix(rust.encode(head, add_special_tokens=False).ids, ids) if head else 0
    if start >= len(ids):
        raise RecordError("empty_answer")
    mask = np.zeros(len(ids), np.uint8)
    mask[start:] = 1
    return np.asarray(ids, np.uint32), mask


def tokenize_pair(rust, chat, body: dict[str, Any], eos: str | None) -> tuple[np.ndarray, np.ndarray, int]:
    """(chosen tokens + rejected tokens, their masks, chosen length) of one preference body."""
    prompt = body.get("prompt")
    chosen, rejected = body["chosen"], body["rejected"]
    if prompt is None:
        prompt, chosen, rejected = extract_prompt(chosen, rejected)
    if isinstance(chosen, list) and any(isinstance(m.get("content"), list) for m in [*prompt, *chosen, *rejected]):
        raise RecordError("unsupported_message_field")
    tc, mc = _sequence(rust, chat, prompt, chosen, eos)
    tr, mr = _sequence(rust, chat, prompt, rejected, eos)
    return np.concatenate([tc, tr]), np.concatenate([mc, mr]), len(tc)


def tokenize_preference_batches(batches: Iterator[pa.RecordBatch], *, src: int, source: str,
                                payload: dict) -> Iterator[pa.RecordBatch]:
    """mapInArrow body for a preference source: one output row (a pair) per record."""
    from mixtures.tokenize import _emit, _new_rows, _out_batch
    from mixtures.tokenizer import chat_renderer, rust_tokenizer

    rust = rust_tokenizer(payload)
    chat = chat_renderer(payload) if payload.get("chat_template") else None
    eos = payload.get("special_tokens", {}).get("eos_token")
    for batch in batches:
        rows = _new_rows()
        for rid, body, reason in preference_records(batch):
            if reason is None:
                try:
                    toks, mask, split = tokenize_pair(rust, chat, body, eos)
                except RecordError as e:
                    reason = e.reason
                except Exception:  # noqa: BLE001 - a template error on one record must not crash the job
                    reason = "chat_template_error"
            if reason is not None:
                _emit(rows, src, source, rid, None, None, reason)
            else:
                _emit(rows, src, source, rid, toks, mask, split=split)
        yield _out_batch(rows)


# -- planning (driver side) ---------------------------------------------------------------------------


def source_seq_len(mixture, name: str) -> int:
    """The sequence length a source's records must fit: the least seq_len of the stages that use it."""
    return min([st.seq_len for st in mixture.stages if st.weights.get(name, 0) > 0] or
               [st.seq_len for st in mixture.stages])


def quarantine_long_pairs(mixture, docs: dict) -> list[dict]:
    """Drop from `docs` (in place) the pairs whose chosen or rejected sequence is longer than the source's
    seq_len; return their quarantine rows. A pair is never truncated: its answer would lose its end."""
    out = []
    for name, d in docs.items():
        if d.kind != "preference":
            continue
        limit = source_seq_len(mixture, name)
        long = np.maximum(d.split, d.ntok - d.split) > limit
        if not long.any():
            continue
        out += [{"source": name, "id": d.doc_ids[int(j)].as_py(), "reason": TOO_LONG} for j in np.flatnonzero(long)]
        keep = np.flatnonzero(~long)
        d.keys, d.chash, d.ntok, d.split = d.keys[keep], d.chash[keep], d.ntok[keep], d.split[keep]
        d.doc_ids = d.doc_ids.take(pa.array(keep))
    return out


def pair_slices(docs, mixture, bounds: list[tuple[int, int]]):
    """`_stream_slices` for pairs: each stage takes the whole pairs that start in its token range of the
    source's epoch stream, so a pair is never split across stages (a stage may go over its target by less
    than one pair). Returns (doc, epoch, start, end) arrays per range."""
    from mixtures.plan import mix64, salt

    train = docs.train
    total = int(docs.ntok[train].sum())
    need = max((b1 for _, b1 in bounds), default=0)
    n_epochs = -(-need // total) if total else 0
    order = [train[np.argsort(mix64(docs.keys[train], salt(mixture.seed, "epoch", docs.name, e)), kind="stable")]
             for e in range(n_epochs)]
    stream = np.concatenate(order) if order else np.zeros(0, np.int64)
    epoch = np.repeat(np.arange(n_epochs), len(train))
    lens = docs.ntok[stream]
    starts = np.cumsum(lens) - lens
    out = []
    for b0, b1 in bounds:
        i0, i1 = np.searchsorted(starts, b0, "left"), np.searchsorted(starts, b1, "left")
        out.append((stream[i0:i1], epoch[i0:i1], np.zeros(i1 - i0, np.int64), lens[i0:i1]))
    return out


def check_stage_kinds(stage, kinds: dict[str, str]) -> bool:
    """Whether `stage` is a preference stage; one that mixes pairs with text or chat sources is refused."""
    from dataforge.core.errors import ForgeError

    used = {kinds[n] == "preference" for n, w in stage.weights.items() if w > 0}
    if len(used) > 1:
        raise ForgeError(f"stage {stage.name}: mixes preference sources with text or chat sources; a DPO stage "
                         "trains on pairs only, put the other sources in their own stage")
    return used == {True}
