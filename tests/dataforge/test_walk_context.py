"""The engine tells every node which walk of which run an item belongs to (`Item.walk`)."""

from __future__ import annotations

import pytest

from dataforge import Document, Engine, FunctionNode, Graph, GraphNode, WalkContext, plan_walks
from dataforge.backends.transformers import TransformersBackend
from dataforge.core.errors import ForgeError
from dataforge.core.records import load_metadata
from dataforge.nodes import Item
from dataforge.rephrase import ExposureGate

SEEDS = [Document(id="a", text="alpha"), Document(id="b", text="beta")]


def _recording_graph(told: list[WalkContext | None], name: str = "told") -> Graph:
    def record(values, llm):  # a batched function sees its rows' walks; no LLM call is made
        told.extend(llm.walks)
        return [{} for _ in values]

    node = FunctionNode("record", Document, Document, record, batched=True, calls_llm=False)
    return Graph(name, Document, [node])


@pytest.fixture(scope="module")
def backend():
    return TransformersBackend("embedded")  # loads the model only when asked to generate: never here


def test_each_node_is_told_the_run_seed_and_walk_index(backend):
    told: list[WalkContext | None] = []
    graph = _recording_graph(told)
    plans = plan_walks(graph, ["a", "b"], walks=5, seed=7)
    out = Engine(graph, backend, seed=7).run(SEEDS, plans)
    assert len(out.records) == 5
    got = sorted((w.seed_id, w.index, w.walk_id) for w in told)
    assert got == sorted((p.seed_id, p.index, p.id) for p in plans)
    assert {w.run for w in told} == {(graph.id, 7)}
    assert sorted(r["id"] for r in out.records) == sorted(p.id for p in plans)


def test_a_subgraph_node_sees_the_outer_walk(backend):
    told: list[WalkContext | None] = []
    outer = Graph("outer", Document, [GraphNode(_recording_graph(told, "inner"), "inner")])
    plans = plan_walks(outer, ["a"], walks=2, seed=3)
    Engine(outer, backend, seed=3).run(SEEDS, plans)
    assert sorted((w.run, w.index) for w in told) == [((outer.id, 3), 0), ((outer.id, 3), 1)]


def test_the_exposure_gate_refuses_items_without_a_walk_context(tmp_path):
    gate = ExposureGate(str(tmp_path / "ledger"))
    with pytest.raises(ForgeError, match="no walk context; run it inside the engine"):
        gate.run([Item("k", SEEDS[0])], None)


def test_the_exposure_gate_admits_walks_by_their_index_below_the_cap(tmp_path, backend):
    from dataforge.rephrase.exposure import ExposureLedger

    ledger = tmp_path / "ledger"
    ExposureLedger(ledger).record("b", "earlier-walk", run=("another-graph", 0))  # b has one prior exposure
    graph = Graph("gate", Document, [ExposureGate(str(ledger), max_exposure=2)])
    plans = plan_walks(graph, ["a", "b"], walks=6, seed=5)
    out = Engine(graph, backend, seed=5).run(SEEDS, plans)
    gens = [load_metadata(r["metadata"])["generator"] for r in out.records]
    kept = sorted((g["seed_doc_id"], g["steps"][0]["exposure"]["ordinal"]) for g in gens)
    assert kept == [("a", 0), ("a", 1), ("b", 0)]
    assert sorted(q["reason"] for q in out.quarantined) == ["exposure_cap"] * 3
    assert len(out.records) + len(out.quarantined) == len(plans)
