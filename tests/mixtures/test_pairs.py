"""A preference source makes a stage of pairs: chosen then rejected, answer-only masks, never truncated."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from mixtures import Mixture, Source, Stage, build_mixture, open_mixture

PROMPTS = ["What colour is the sky?", "Name a prime number.", "How many legs has a cat?", "Spell 'dog'."]


def pair_rows(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        p = PROMPTS[i % len(PROMPTS)] + f" (case {i})"
        rows.append({"id": f"p-{i:03d}", "prompt": p, "chosen": " The right answer.", "rejected": " A wrong one."})
    # TRL's implicit-prompt form and the conversational form
    rows.append({"id": "implicit", "chosen": "Q: two plus two? A: four", "rejected": "Q: two plus two? A: five"})
    rows.append({"id": "conv", "prompt": [{"role": "user", "content": "Hi?"}],
                 "chosen": [{"role": "assistant", "content": "Hello!"}],
                 "rejected": [{"role": "assistant", "content": "Go away."}]})
    rows.append({"id": "too-long", "prompt": "Tell me.", "chosen": " long" * 200, "rejected": " short"})
    rows.append({"id": "no-rejected", "prompt": "x", "chosen": "y"})
    return rows


@pytest.fixture(scope="module")
def pairs(spark, tokenizer_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("prefs")
    with open(root / "prefs.jsonl", "w") as f:
        for r in pair_rows(40):
            f.write(json.dumps(r) + "\n")
    src = Source("prefs", path=str(root), holdout_docs=0)
    mixture = Mixture(name="dpo-demo", tokenizer=str(tokenizer_dir), seed=3,
                      stages=[Stage("dpo", tokens=1400, seq_len=64, weights={src: 1.0})])
    result = build_mixture(mixture, tmp_path_factory.mktemp("reg"), spark=spark)
    return open_mixture(result.id, result.path.parent)


def test_preference_source_gives_a_stage_of_whole_pairs_with_answer_masks(pairs):
    tok = pairs.load_tokenizer()
    stage = pairs.stage("dpo")
    assert stage.pairs and stage.sft
    pieces = list(stage)
    assert pieces and all(p.chosen_length is not None and p.num_pieces == 1 for p in pieces)
    # the budget counts both sequences of every pair, and whole pairs only
    assert 1400 <= sum(len(p.tokens) for p in pieces) < 1400 + max(len(p.tokens) for p in pieces)
    by_id = {p.doc_id: p for p in pieces}
    for p in pieces:
        c, r = p.tokens[:p.chosen_length], p.tokens[p.chosen_length:]
        assert len(c) <= 64 and len(r) <= 64
        mc, mr = p.loss_mask[:p.chosen_length], p.loss_mask[p.chosen_length:]
        if p.doc_id.startswith("p-"):
            # prompt + answer + EOS; the mask covers exactly the answer and the EOS
            assert tok.decode(np.asarray(c)[mc > 0]) == " The right answer." + tok.eos_token
            assert tok.decode(np.asarray(r)[mr > 0]) == " A wrong one." + tok.eos_token
            assert tok.decode(np.asarray(c)[mc == 0]) == tok.decode(np.asarray(r)[mr == 0])  # same prompt
    assert {f"p-{i:03d}" for i in range(40)} | {"implicit", "conv"} <= set(by_id)  # every pair, once or more
    p = by_id["implicit"]
    assert tok.decode(np.asarray(p.tokens[:p.chosen_length])[p.loss_mask[:p.chosen_length] > 0]) \
        == " four" + tok.eos_token
    p = by_id["conv"]
    answer = tok.decode(np.asarray(p.tokens[:p.chosen_length])[p.loss_mask[:p.chosen_length] > 0])
    assert "Hello!" in answer and "Hi?" not in answer
    index = pq.read_table(pairs.path / pairs.manifest.extra["stages"][0]["dir"] / "index.parquet")
    assert "chosen_length" in index.schema.names


def test_oversize_and_broken_pairs_are_quarantined_with_their_reason(pairs):
    q = {r["id"]: r["reason"] for r in pq.read_table(pairs.path / "quarantine").to_pylist()}
    assert q["too-long"] == "pair_exceeds_seq_len"
    assert q["no-rejected"] == "no_text"  # not a preference record: quarantined, not dropped
    assert all(p.doc_id != "too-long" for p in pairs.stage("dpo"))
