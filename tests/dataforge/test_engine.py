"""The walk engine on the embedded LLM: lockstep batching, retries, quarantine, judging, lineage."""

import json

from dataforge import (
    CachedBackend,
    Document,
    Drop,
    FunctionNode,
    Graph,
    JudgeNode,
    LLMNode,
    Quarantined,
    Sampling,
    generate,
    nonempty,
)
from dataforge.core.records import load_metadata
from dataforge.nodes import ParseError
from tests.dataforge.shapes import PASSAGES, TINY, Answer, Graded, Question, answer, ask


def counted(embedded_llm):
    return CachedBackend(embedded_llm, None)


def test_all_pending_calls_of_a_node_go_to_the_backend_as_one_batch(embedded_llm):
    llm = counted(embedded_llm)
    g = Graph("qa", Document, [ask(), answer()])
    result = generate(g, PASSAGES, walks=8, backend=llm, use_cache=False)
    assert result.stats.totals["records"] == 8
    assert llm.calls == 16
    assert llm.batches == 2  # one per node: 8 walks fit one 16-prompt batch
    assert result.stats.node("ask")["llm_calls"] == 8 and result.stats.node("answer")["llm_calls"] == 8


def test_records_do_not_depend_on_the_batch_size(embedded_llm):
    g = Graph("qa", Document, [ask()])
    big = generate(g, PASSAGES, walks=6, seed=5, backend=embedded_llm, use_cache=False)
    embedded_llm.batch_size = 2
    try:
        small = generate(g, PASSAGES, walks=6, seed=5, backend=embedded_llm, use_cache=False)
    finally:
        embedded_llm.batch_size = 16
    assert [r["text"] for r in big.records] == [r["text"] for r in small.records]
    assert [r["id"] for r in big.records] == [r["id"] for r in small.records]


def _never_parses(reply, value):
    raise ParseError("this parser accepts nothing")


def test_unparseable_replies_are_retried_then_quarantined_with_the_reason(embedded_llm):
    llm = counted(embedded_llm)
    strict = LLMNode("strict", PASSAGES[0].__class__, Question, prompt="{{ text }}", parse=_never_parses,
                     sampling=TINY, retries=2)
    result = generate(Graph("g", Document, [strict]), PASSAGES, walks=2, backend=llm, use_cache=False)
    assert result.records == [] and len(result.quarantined) == 2
    assert llm.calls == 6  # 2 walks x (1 + 2 retries), each retry with a new seed
    row = result.quarantined[0]
    assert row["node"] == "strict" and row["reason"] == "unparseable_reply"
    assert "this parser accepts nothing" in row["detail"]
    meta = load_metadata(row["metadata"])["generator"]
    assert meta["steps"][-1]["attempts"] == 3 and len(meta["steps"][-1]["errors"]) == 3
    assert result.stats.reasons("quarantined") == {"strict:unparseable_reply": 2}


def test_judge_drops_low_scores_and_keeps_the_rest(embedded_llm):
    judge = JudgeNode("judge", Answer, Graded, rubric="The answer is correct.", threshold=3,
                      sampling=Sampling(max_tokens=16, temperature=1.0))
    g = Graph("qa", Document, [ask(), answer(), judge])
    result = generate(g, PASSAGES, walks=4, seed=2, backend=embedded_llm, use_cache=False)
    t = result.stats.totals
    assert t["records"] + t["dropped"] + t["quarantined"] == 4
    for row in result.dropped:
        assert row["reason"] == "below_threshold" and row["node"] == "judge"
        assert load_metadata(row["metadata"])["generator"]["steps"][-1]["output"]["score"] < 3
    for row in result.records:
        assert load_metadata(row["metadata"])["generator"]["steps"][-1]["output"]["score"] >= 3


def _flaky(q):
    if q.id == "doc-1":
        raise RuntimeError("cannot handle doc-1")
    if q.id == "doc-2":
        return Drop("not_wanted", "doc-2 is skipped")
    if q.id == "doc-3":
        return {"answer": ""}  # breaks the node's guarantee
    return {"answer": q.question.upper()}


def test_failures_quarantine_one_walk_and_the_others_go_on(embedded_llm):
    py = FunctionNode("upper", Question, Answer, _flaky, guarantees=[nonempty("answer")])
    result = generate(Graph("g", Document, [ask(), py]), PASSAGES, walks=4, backend=embedded_llm, use_cache=False)
    assert len(result.records) == 1 and len(result.dropped) == 1 and len(result.quarantined) == 2
    reasons = {load_metadata(r["metadata"])["generator"]["seed_doc_id"]: r["reason"] for r in result.quarantined}
    assert reasons == {"doc-1": "function_error", "doc-3": "postcondition"}
    assert result.dropped[0]["reason"] == "not_wanted"
    assert isinstance(Quarantined("x"), Quarantined)


def test_lineage_records_path_io_template_model_sampling_and_seeds(embedded_llm):
    g = Graph("qa", Document, [ask(), answer()])
    result = generate(g, PASSAGES[:1], walks=1, seed=9, backend=embedded_llm, use_cache=False, emit_calls=True)
    rec = result.records[0]
    meta = load_metadata(rec["metadata"])["generator"]
    assert meta["walk"]["path"] == ["ask", "answer"] and meta["seed"] == 9 and meta["seed_doc_id"] == "doc-0"
    first, second = meta["steps"]
    assert first["input"] == PASSAGES[0].model_dump() and first["output"]["question"]
    assert second["input"]["question"] == first["output"]["question"]
    assert rec["text"].endswith(f"answer: {second['output']['answer']}")
    assert first["template_hash"] == g.nodes["ask"].template_hash
    assert first["model"] == embedded_llm.model_id and first["sampling"]["max_tokens"] == 8
    assert first["sampling"]["seed"] != second["sampling"]["seed"]
    calls = result.calls
    assert [load_metadata(c["metadata"])["generator"]["node"] for c in calls] == ["ask", "answer"]
    assert calls[0]["messages"][-1] == {"role": "assistant", "content": first["output"]["question"]}
    assert json.loads(rec["metadata"]) == load_metadata(rec["metadata"])


def test_a_graph_runs_as_one_node_of_a_bigger_graph(embedded_llm):
    llm = counted(embedded_llm)
    inner = Graph("qa", Document, [ask(), answer()])
    judge = JudgeNode("judge", Answer, Graded, rubric="The answer is correct.", threshold=1, sampling=TINY)
    outer = Graph("outer", Document, [inner.as_node("qa"), judge])
    result = generate(outer, PASSAGES, walks=4, backend=llm, use_cache=False)
    assert llm.batches == 3  # qa/ask, qa/answer and judge: nesting keeps lockstep batches
    assert set(result.stats.nodes) == {"qa", "qa/ask", "qa/answer", "judge"}
    steps = load_metadata((result.records or result.quarantined)[0]["metadata"])["generator"]["steps"]
    assert steps[0]["node"] == "qa" and [s["node"] for s in steps[0]["steps"]] == ["ask", "answer"]


def test_chat_sinks_carry_thinking_mode_and_extra_metadata(embedded_llm):
    from dataforge.structs import Chat

    class Conversation(Chat):
        constraints: list[str] = []

        def record_metadata(self):
            return {"constraints": self.constraints}

    def to_chat(q):
        return Conversation(messages=[{"role": "user", "content": q.question}], thinking=False,
                            constraints=["length_constraints:number_words"])

    g = Graph("chat", Document, [ask(), FunctionNode("to_chat", Question, Conversation, to_chat)])
    rec = generate(g, PASSAGES[:1], backend=embedded_llm, use_cache=False).records[0]
    assert rec["chat_template_kwargs"] == {"enable_thinking": False}
    assert rec["messages"][0]["role"] == "user"
    meta = load_metadata(rec["metadata"])
    assert meta["constraints"] == ["length_constraints:number_words"] and meta["generator"]["sink"] == "to_chat"
