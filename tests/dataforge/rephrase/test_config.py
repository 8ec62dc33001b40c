"""Rephrasing configuration is checked when the graph is built, before any LLM call."""

from __future__ import annotations

import pytest

from dataforge import Sampling
from dataforge.core.errors import ForgeError
from dataforge.rephrase import FaithfulnessJudge, RephraseConfig, RephraseNode, rephrase_graph


def test_graph_has_one_rephrase_node_per_style_between_gate_and_fidelity(tmp_path):
    graph = rephrase_graph(RephraseConfig(styles=("lecture", "dialogue"), ledger=str(tmp_path), judge=True,
                                          weights={"lecture": 3.0}))
    assert graph.sinks == ["exposure_record"]
    assert dict(graph.successors("exposure_gate")) == {"rephrase_dialogue": 1.0, "rephrase_lecture": 3.0}
    assert [b for b, _ in graph.successors("fidelity")] == ["judge"]


def test_chunk_budget_must_fit_the_model_context():
    with pytest.raises(ForgeError, match="exceeds the model context"):
        RephraseNode("lecture", chunk_tokens=6000, sampling=Sampling(max_tokens=1200))


def test_config_rejects_unknown_styles_weights_and_repeats(tmp_path):
    with pytest.raises(ForgeError, match="unknown rephrase style"):
        RephraseConfig(styles=("sonnet",), ledger=str(tmp_path))
    with pytest.raises(ValueError, match="repeat a name"):
        RephraseConfig(styles=("lecture", "lecture"), ledger=str(tmp_path))
    with pytest.raises(ForgeError, match="weights name styles not in the run"):
        rephrase_graph(RephraseConfig(styles=("lecture",), weights={"dialogue": 2.0}, ledger=str(tmp_path)))


@pytest.mark.parametrize(("reply", "score"), [
    ('{"score": 4, "rationale": "keeps every fact"}', 4.0),
    ("Score: 2 - it drops the dates", 2.0),
    ('```json\n{"score": 5}\n```', 5.0),
    ("I would give it 9 out of 10", None),
    ("no idea", None),
])
def test_judge_reads_scores_from_json_or_text_and_rejects_out_of_scale(reply, score):
    assert FaithfulnessJudge()._score(reply) == score
