"""A chat source makes an SFT stage with an assistant mask; long documents are spread, not read in a row."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow.parquet as pq
import pytest

from mixtures import Mixture, Source, Stage, build_mixture, open_mixture


@pytest.fixture(scope="module")
def sft(spark, data_root, tokenizer_dir, tmp_path_factory):
    chat = Source("chat", path=str(data_root / "curated" / "chat"))
    long = Source("long", path=str(data_root / "long"))  # plain JSONL, no manifest
    mixture = Mixture(name="sft-demo", tokenizer=str(tokenizer_dir), seed=7, shard_tokens=2_000,
                      stages=[Stage("pre", tokens=9_000, seq_len=64, weights={long: 1.0}),
                              Stage("sft", tokens=4_000, seq_len=128, weights={chat: 0.7, long: 0.3})])
    result = build_mixture(mixture, tmp_path_factory.mktemp("reg"), spark=spark, partitions=3)
    return open_mixture(result.id, result.path.parent)


def max_run(doc_ids: list[str]) -> int:
    return max(len(list(g)) for _, g in itertools.groupby(doc_ids))


def test_long_document_pieces_are_spread_through_the_stage(sft):
    pre = sft.stage("pre")
    pieces = list(pre)
    long_doc = max(pieces, key=lambda p: p.num_pieces)
    assert long_doc.num_pieces >= 20  # the long document really is cut into many pieces
    positions = [i for i, p in enumerate(pieces) if p.doc_id == long_doc.doc_id]
    assert max_run([p.doc_id for p in pieces]) <= 2
    # Spread over the stage rather than clustered: the pieces cover most of it.
    assert positions[-1] - positions[0] > 0.6 * len(pieces)
    # Within one pass over the document its pieces still come in reading order.
    first_pass = [pieces[i] for i in positions if pieces[i].epoch == long_doc.epoch]
    assert [p.piece_index for p in first_pass] == sorted(p.piece_index for p in first_pass)
    assert all(len(p.tokens) <= 64 for p in pieces) and sum(len(p.tokens) for p in pieces) == 9_000


def test_stages_are_split_into_shards_of_about_shard_tokens(sft):
    shards = sft.manifest.extra["stages"][0]["shards"]
    assert len(shards) == 5 and all(abs(s["ntok"] - 2_000) < 64 for s in shards[:-1])
    assert all(f in sft.manifest.files for s in shards for f in (s["tokens"],))
    masks = [s["mask"] for s in sft.manifest.extra["stages"][1]["shards"]]
    assert masks and all(m and m in sft.manifest.files for m in masks)


def test_chat_source_makes_an_sft_stage_with_assistant_only_loss(sft):
    tok = sft.load_tokenizer()
    assert [s.sft for s in sft.stages] == [False, True]
    stage = sft.stage("sft")
    chat_pieces = [p for p in stage if p.source == "chat"]
    assert chat_pieces and all(p.loss_mask is not None and len(p.loss_mask) == len(p.tokens) for p in chat_pieces)
    assert all(p.loss_mask is None for p in stage if p.source == "long")
    # Reassemble whole conversations and compare with the chat template's own tokens.
    rows = {r["id"]: r for r in pq.read_table(sft.manifest.extra["sources"]["chat"]["path"] + "/data").to_pylist()}
    by_doc: dict[tuple[str, int], list] = {}
    for p in chat_pieces:
        by_doc.setdefault((p.doc_id, p.epoch), []).append(p)
    checked = 0
    for (doc_id, _), parts in by_doc.items():
        parts.sort(key=lambda p: p.doc_start)
        if sum(len(p.tokens) for p in parts) != parts[0].doc_tokens:
            continue  # a conversation split at the stage boundary
        tokens = np.concatenate([p.tokens for p in parts]).tolist()
        mask = np.concatenate([p.loss_mask for p in parts])
        msgs = [{"role": m["role"], "content": m["content"]} for m in rows[doc_id]["messages"]]
        assert tokens == tok.apply_chat_template(msgs, tokenize=True, return_dict=True)["input_ids"]
        spans = [tok.decode(np.asarray(tokens)[np.flatnonzero(mask)[g]].tolist()) for g in _groups(mask)]
        answers = [m["content"] + "<|im_end|>" for m in msgs if m["role"] == "assistant"]
        assert spans == answers
        checked += 1
    assert checked >= 10


def _groups(mask: np.ndarray) -> list[np.ndarray]:
    on = np.flatnonzero(mask)
    breaks = np.flatnonzero(np.diff(on) > 1) + 1
    return [np.arange(a, b) for a, b in zip(np.r_[0, breaks], np.r_[breaks, len(on)], strict=True)]


def test_unusable_records_are_quarantined_with_their_reason(sft):
    from dataforge.core import text_id

    q = pq.read_table(sft.path / "quarantine" / "part-00000.parquet").to_pylist()
    assert q == [{"source": "chat", "id": "chat-noanswer", "reason": "no_assistant_turn"},
                 {"source": "long", "id": text_id("Repeated line."), "reason": "duplicate_id"}]
    assert sft.manifest.counts["quarantined"] == 2


def test_validation_slices_are_held_out_and_fit_every_stage(sft):
    for name, seq in (("chat", 128), ("long", 64)):
        val = sft.validation(name)
        assert val.num_pieces > 0 and all(len(p.tokens) <= seq for p in val)
        held = {p.doc_id for p in val}
        trained = {p.doc_id for st in sft.stages for p in st if p.source == name}
        assert held and not held & trained
    assert all(p.loss_mask is not None and p.loss_mask.any() for p in sft.validation("chat"))


def test_plain_jsonl_source_gets_a_content_id(sft, data_root):
    from mixtures.sources import resolve_source

    info = sft.manifest.extra["sources"]["long"]
    assert info["kind"] == "text" and not info["has_manifest"]
    again = resolve_source(Source("long", path=str(data_root / "long")))
    assert again.manifest_id == info["manifest_id"]
