"""The IFThink graph on the embedded LLM: paired think/no-think conversations of >= 3 user turns,
every assistant turn checked against every active constraint, failures quarantined with ids and turns.

The 135M model fails many constraints; the assertions hold for whatever it writes (they re-verify the
recorded conversations), and the verifier's keep path is also tested on hand-written transcripts."""

from __future__ import annotations

import json

import pytest

from dataforge import generate
from dataforge.core.errors import ForgeError
from dataforge.ifthink import (
    Constraint,
    Conversation,
    IFThinkConfig,
    PlanNode,
    VerifyNode,
    answer_of,
    check,
    ifthink_graph,
    ifthink_seeds,
    split_think,
    with_think,
)
from dataforge.nodes.base import Item, Quarantined, WalkStep

INSTRUCTIONS = [{"id": "lighthouse", "text": "Describe a lighthouse at night."},
                {"id": "sky", "text": "Explain why the sky is blue."}]
# Types a tiny model meets now and then, so some conversations can pass.
LENIENT = ("keywords:forbidden_words", "keywords:letter_frequency", "change_case:capital_word_frequency",
           "length_constraints:number_words", "punctuation:no_comma")


def _steps(row) -> list[dict]:
    return json.loads(row["metadata"])["generator"]["steps"]


@pytest.fixture(scope="module")
def run(embedded_llm):
    config = IFThinkConfig(turns=3, max_tokens=16, reasoning_max_tokens=12, early_stop=False, pool=LENIENT)
    seeds = ifthink_seeds(INSTRUCTIONS)
    return config, generate(ifthink_graph(config), seeds, seed=0, backend=embedded_llm, use_cache=False)


def test_every_conversation_is_kept_or_quarantined_in_both_modes(run):
    config, result = run
    t = result.stats.totals
    assert t["walks"] == 4 == t["records"] + t["quarantined"] and t["dropped"] == 0
    # Think mode: a reasoning call and an answer call per turn; no-think: one answer call per turn.
    assert [result.stats.node(f"turn_{k}")["llm_calls"] for k in (1, 2, 3)] == [6, 6, 6]


def test_think_and_no_think_share_the_plan(run):
    _, result = run
    plans = {}
    for row in [*result.records, *result.quarantined]:
        plan = [s for s in _steps(row) if s["node"] == "plan"][0]["output"]
        plans.setdefault(plan["instruction_id"], []).append((plan["thinking"], plan["user_turns"], plan["constraints"]))
    assert set(plans) == {"lighthouse", "sky"}
    for pair in plans.values():
        assert sorted(p[0] for p in pair) == [False, True]
        assert pair[0][1:] == pair[1][1:] and len(pair[0][1]) == 3
        assert all(len(new) >= 1 for new in pair[0][2])  # every user turn adds constraints


def test_quarantined_conversations_name_failing_ids_and_turns_correctly(run):
    _, result = run
    for row in result.quarantined:
        assert row["node"] == "verify" and row["reason"] in {"constraint_failed", "missing_think", "empty_answer"}
        verify = [s for s in _steps(row) if s["node"] == "verify"][0]
        conv = verify["input"]
        plan = [Constraint(**c) for turn in conv["constraints"] for c in turn]
        per_turn = [len(t) for t in conv["constraints"]]
        for f in verify["failures"]:
            assert f"turn {f['turn']}" in row["detail"]
            if f["reason"] != "constraint_failed":
                continue
            answer = answer_of(conv["assistant"][f["turn"] - 1])
            active = plan[:sum(per_turn[:f["turn"]])]
            assert f["instruction_ids"] == [c.id for c in active if not check(c.id, c.kwargs, answer)]


def test_kept_records_are_sft_ready_chats_that_pass_every_active_constraint(run):
    _, result = run
    for row in result.records:
        meta = json.loads(row["metadata"])["ifthink"]
        thinking = meta["mode"] == "think"
        assert row["chat_template_kwargs"] == {"enable_thinking": thinking}
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["user", "assistant"] * 3
        for turn, m in enumerate(row["messages"][1::2], start=1):
            assert bool(split_think(m["content"]).reasoning) is thinking
            active = [Constraint(**c) for t in meta["constraints"][:turn] for c in t["new"]]
            assert all(c.check(answer_of(m["content"])) for c in active)


def _conversation(thinking: bool, answers: list[str]) -> tuple[IFThinkConfig, Conversation]:
    config = IFThinkConfig(turns=3, pool=("punctuation:no_comma", "detectable_format:title", "startend:quotation",
                                          "keywords:forbidden_words"), per_turn=(1, 1), seed=3)
    seed = ifthink_seeds([{"id": "x", "text": "Name a colour."}], modes=(thinking,))[0]
    (step,) = PlanNode(config).run([Item("k", seed)], None)
    return config, step.output.model_copy(update={"assistant": answers})


def test_verify_keeps_a_fully_passing_transcript_and_builds_the_record():
    config, conv = _conversation(False, [])
    ids = [c.id for turn in conv.constraints for c in turn]
    good = {"punctuation:no_comma": "no commas", "detectable_format:title": "<<t>>",
            "startend:quotation": None, "keywords:forbidden_words": "plain words"}
    body = " ".join(v for k, v in good.items() if k in ids and v)
    text = f'"{body}"' if "startend:quotation" in ids else body
    conv = conv.model_copy(update={"assistant": [with_think(text)] * 3})
    (out,) = VerifyNode(config).run([Item("k", conv)], None)
    assert isinstance(out, WalkStep), out
    record = out.output
    assert record.enable_thinking is False and [m.role for m in record.messages] == ["user", "assistant"] * 3
    assert record.record_metadata()["ifthink"]["constraints"][2]["active"] == ids


def test_verify_quarantines_a_forgotten_constraint_with_its_turn():
    config, conv = _conversation(True, [])
    first = conv.constraints[0][0]
    breaking = {"punctuation:no_comma": "a, b", "detectable_format:title": "no title here",
                "startend:quotation": "not quoted", "keywords:forbidden_words": " ".join(
                    first.kwargs.get("forbidden_words", ["x"]))}[first.id]
    conv = conv.model_copy(update={"assistant": [with_think("ok", "r"), with_think("ok", "r"),
                                                 with_think(breaking, "r")]})
    (out,) = VerifyNode(config).run([Item("k", conv)], None)
    assert isinstance(out, Quarantined) and out.reason in {"constraint_failed"}
    assert any(f["turn"] == 3 and first.id in f["instruction_ids"] for f in out.info["failures"])


def test_config_rejects_fewer_than_three_turns_and_unknown_ids():
    with pytest.raises(ValueError, match=r"^IFThinkConfig.turns: must be >= 3 \(got 2\)$"):
        IFThinkConfig(turns=2)
    with pytest.raises(ValueError, match="unknown instruction ids"):
        IFThinkConfig(pool=("nope:none",))
    with pytest.raises(ForgeError, match="could not plan 3 turns"):
        ifthink_graph(IFThinkConfig(pool=("detectable_format:json_format", "punctuation:no_comma")))
    (out,) = PlanNode(IFThinkConfig()).run([Item("k", ifthink_seeds([{"id": "e", "text": " "}])[0])], None)
    assert isinstance(out, Quarantined) and out.reason == "empty_instruction"
