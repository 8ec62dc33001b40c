"""Walk planning: seeded, batch- and partition-independent, weighted, depth-limited, with quotas."""

from collections import Counter

import pytest

from dataforge import Document, Graph, plan_walks
from dataforge.core.errors import ForgeError
from dataforge.walk import enumerate_paths
from tests.dataforge.shapes import Question, Summary, answer, ask, py

SEEDS = [f"doc-{i}" for i in range(7)]


def branching(weights=None, quotas=None, max_depth=8):
    """seed -> ask -> answer, or seed -> ask -> rephrase -> answer, or seed -> summarize."""
    rephrase = py("rephrase", Question, Question, lambda q: q)
    summarize = py("summarize", Document, Summary, lambda d: {"summary": d.text})
    edges = [("seed", "ask"), ("seed", "summarize"), ("ask", "answer"), ("ask", "rephrase"),
             ("rephrase", "answer")]
    return Graph("b", Document, [ask(), rephrase, answer(), summarize], edges=edges, weights=weights,
                 quotas=quotas, max_depth=max_depth)


def test_walks_are_a_function_of_seed_doc_and_index_only():
    g = branching()
    a = plan_walks(g, SEEDS, 40, seed=3)
    b = plan_walks(g, SEEDS, 90, seed=3)
    assert a == b[:40]  # more walks extend the plan without changing earlier walks
    by_key = {(p.seed_id, p.index): p for p in plan_walks(g, list(reversed(SEEDS)), 42, seed=3)}
    assert all(by_key[(p.seed_id, p.index)] == p for p in a if (p.seed_id, p.index) in by_key)
    assert len({p.id for p in b}) == 90
    assert [p.path for p in plan_walks(g, SEEDS, 40, seed=4)] != [p.path for p in a]


def test_edge_weights_shape_the_path_distribution():
    g = branching(weights={("seed", "ask"): 3.0, ("seed", "summarize"): 1.0})
    first = Counter(p.path[0] for p in plan_walks(g, SEEDS, 2000, seed=0))
    assert 0.70 < first["ask"] / 2000 < 0.80
    probs = enumerate_paths(g)
    assert probs[("summarize",)] == pytest.approx(0.25)
    assert probs[("ask", "rephrase", "answer")] == pytest.approx(0.375)


def test_max_depth_prunes_longer_routes():
    r1, r2 = (py(n, Question, Question, lambda q: q) for n in ("r1", "r2"))
    edges = [("seed", "ask"), ("ask", "answer"), ("ask", "r1"), ("ask", "r2"), ("r1", "answer"), ("r1", "r2"),
             ("r2", "answer")]
    deep = Graph("d", Document, [ask(), r1, r2, answer()], edges=edges, max_depth=4)
    shallow = Graph("d", Document, [ask(), r1, r2, answer()], edges=edges, max_depth=3)
    assert ("ask", "r1", "r2", "answer") in {p.path for p in plan_walks(deep, SEEDS, 300, seed=0)}
    assert {p.path for p in plan_walks(shallow, SEEDS, 300, seed=0)} == {
        ("ask", "answer"), ("ask", "r1", "answer"), ("ask", "r2", "answer")}


def test_sink_quotas_are_met_exactly_in_the_plan():
    g = branching(quotas={"answer": 0.3, "summarize": 0.7})
    plans = plan_walks(g, SEEDS, 50, seed=1)
    sinks = Counter(p.path[-1] for p in plans)
    assert sinks == {"answer": 15, "summarize": 35}
    assert plans == plan_walks(g, SEEDS, 50, seed=1)


def test_path_quotas_and_bad_quotas():
    g = branching(quotas={"ask>answer": 0.5, "ask>rephrase>answer": 0.5})
    assert Counter(p.path for p in plan_walks(g, SEEDS, 10, 0)) == {("ask", "answer"): 5,
                                                                      ("ask", "rephrase", "answer"): 5}
    with pytest.raises(ForgeError, match="quotas sum to 0.9"):
        branching(quotas={"answer": 0.2, "summarize": 0.7})
    with pytest.raises(ForgeError, match="quota key 'nowhere' is neither a sink"):
        branching(quotas={"nowhere": 1.0})


def test_duplicate_seed_ids_are_rejected():
    with pytest.raises(ForgeError, match="seed id 'doc-1' appears more than once"):
        plan_walks(branching(), ["doc-1", "doc-2", "doc-1"], 3, 0)
