"""Graph construction: inferred edges, and every build-time rejection (before any LLM call)."""

import pytest

from dataforge import Document, FilterNode, Graph, JudgeNode, LLMNode, at_least, nonempty
from dataforge.core.errors import ForgeError
from dataforge.structs import Chat
from tests.dataforge.shapes import TINY, Answer, Graded, Question, Summary, answer, ask, py


def test_edges_are_inferred_from_exact_types():
    g = Graph("qa", Document, [answer(), ask()])
    assert sorted(g.g.edges) == [("ask", "answer"), ("seed", "ask")]
    assert g.sinks == ["answer"] and g.topological() == ["ask", "answer"]


def test_cycle_is_rejected_naming_the_nodes():
    loop_a = py("loop_a", Question, Question, lambda q: q)
    loop_b = py("loop_b", Question, Question, lambda q: q)
    with pytest.raises(ForgeError, match=r"cycle (loop_a -> loop_b -> loop_a|loop_b -> loop_a -> loop_b)"):
        Graph("g", Document, [ask(), loop_a, loop_b, answer()])


def test_declared_edge_with_missing_field_names_both_nodes_and_the_field():
    with pytest.raises(ForgeError, match=r"edge summarize -> answer does not type-check: Summary has no field "
                                         r"'question'"):
        summarize = py("summarize", Document, Summary, lambda d: {"summary": d.text})
        Graph("g", Document, [summarize, answer()], edges=[("seed", "summarize"), ("summarize", "answer")])


def test_declared_edge_with_wrong_field_type_names_the_types():
    class NumericQuestion(Question.__base__):  # a struct whose `question` is an int
        id: str
        text: str
        question: int

    numq = py("numq", Document, NumericQuestion, lambda d: {"question": 1})
    with pytest.raises(ForgeError, match=r"edge numq -> answer .*field 'question' is int in NumericQuestion but "
                                         r"Question needs str"):
        Graph("g", Document, [numq, answer()], edges=[("seed", "numq"), ("numq", "answer")])


def test_declared_edge_with_unmet_predicate_is_rejected():
    picky = answer(requires=[nonempty("question")])
    with pytest.raises(ForgeError, match=r"edge ask -> answer .*requires nonempty\(question\), which is not "
                                         r"guaranteed"):
        Graph("g", Document, [ask(), picky], edges=[("seed", "ask"), ("ask", "answer")])
    ok = Graph("g", Document, [ask(guarantees=[nonempty("question")]), picky],
               edges=[("seed", "ask"), ("ask", "answer")])
    assert ok.sinks == ["answer"]


def test_stronger_bound_implies_weaker_requirement():
    judge = JudgeNode("judge", Answer, Graded, rubric="r", threshold=4, sampling=TINY)
    keep = FilterNode("keep", Graded, at_least("score", 2), reason="low")
    needs3 = py("needs3", Graded, Graded, lambda g: g)
    needs3.requires = [at_least("score", 3)]
    g = Graph("g", Document, [ask(), answer(), judge, needs3],
              edges=[("seed", "ask"), ("ask", "answer"), ("answer", "judge"), ("judge", "needs3")])
    assert g.sinks == ["needs3"]
    assert keep.guarantees == [at_least("score", 2)]


def test_node_no_walk_reaches_is_rejected_with_the_reason():
    orphan = py("orphan", Summary, Summary, lambda s: s)
    with pytest.raises(ForgeError, match=r"node 'orphan' cannot be reached by any walk: no node produces its "
                                         r"input Summary"):
        Graph("g", Document, [ask(), orphan])
    picky = answer(requires=[nonempty("question")])
    with pytest.raises(ForgeError, match=r"node 'answer' cannot be reached .*produced by \['ask'\], but it "
                                         r"requires nonempty\(question\)"):
        Graph("g", Document, [ask(), picky])


def test_path_that_cannot_reach_a_sink_is_rejected():
    side = py("side", Document, Summary, lambda d: {"summary": d.text})
    with pytest.raises(ForgeError, match=r"node 'side' cannot reach a sink \(\['answer'\]\)"):
        Graph("g", Document, [ask(), answer(), side], sinks=["answer"])
    with pytest.raises(ForgeError, match=r"sink 'ask' has outgoing edges"):
        Graph("g", Document, [ask(), answer()], sinks=["ask"])


def test_node_only_reachable_beyond_max_depth_is_rejected():
    with pytest.raises(ForgeError, match=r"node 'ask' is on no walk within max_depth=1 \(the shortest walk "
                                         r"through it visits 2 nodes\)"):
        Graph("g", Document, [ask(), answer()], max_depth=1)


def test_template_variables_are_checked_against_the_input_struct():
    with pytest.raises(ForgeError, match=r"node bad: prompt template uses \['passage'\], which Document does not "
                                         r"have"):
        LLMNode("bad", Document, Question, prompt="Ask about {{ passage }}")
    with pytest.raises(ForgeError, match=r"node bad: prompt template line 1"):
        LLMNode("bad", Document, Question, prompt="Ask {{ text ")


def test_sinks_must_agree_on_record_kind():
    to_chat = py("to_chat", Answer, Chat, lambda a: Chat(messages=[]))
    summarize = py("summarize", Document, Summary, lambda d: {"summary": d.text})
    with pytest.raises(ForgeError, match="make chat and text records"):
        Graph("g", Document, [ask(), answer(), to_chat, summarize])


def test_graph_with_two_sinks_cannot_be_a_node():
    summarize = py("summarize", Document, Summary, lambda d: {"summary": d.text})
    two = Graph("two", Document, [ask(), summarize])
    with pytest.raises(ForgeError, match="only a graph with one sink can be a node"):
        two.as_node()
    inner = Graph("inner", Document, [ask(), answer()])
    outer = Graph("outer", Document, [inner.as_node("qa"), JudgeNode("judge", Answer, Graded, rubric="r",
                                                                     threshold=1, sampling=TINY)])
    assert sorted(outer.g.edges) == [("qa", "judge"), ("seed", "qa")]


def test_graph_id_changes_with_a_template_edit():
    a = Graph("qa", Document, [ask(), answer()])
    b = Graph("qa", Document, [ask(), answer()])
    c = Graph("qa", Document, [LLMNode("ask", Document, Question, prompt="Other: {{ text }}", sampling=TINY),
                               answer()])
    assert a.id == b.id != c.id
