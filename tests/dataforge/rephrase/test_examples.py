"""Every shipped rephrasing example spec loads and runs (smoke budgets, a temporary exposure ledger)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataforge import generate, load_generate_spec, resolve_seeds
from dataforge.rephrase import ExposureGate, FaithfulnessJudge, FidelityNode

EXAMPLES = sorted((Path(__file__).parents[3] / "examples" / "rephrase").glob("*.py"))


def test_rephrase_examples_exist():
    assert {p.name for p in EXAMPLES} >= {"rephrase.py", "math_study_notes.py"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_rephrase_example_runs(path, embedded_llm, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_EXAMPLE_SMOKE", "1")
    monkeypatch.setenv("REPHRASE_LEDGER", str(tmp_path / "ledger"))
    spec = load_generate_spec(path)
    kinds = {type(n) for n in spec.graph.nodes.values()}
    assert {ExposureGate, FidelityNode} <= kinds
    seeds = resolve_seeds(spec.seeds, spec.graph, base=path.parent)
    walks = min(spec.walks or len(seeds), 2)
    result = generate(spec.graph, seeds, walks=walks, backend=embedded_llm, use_cache=False)
    t = result.stats.totals
    assert t["walks"] == walks == t["records"] + t["dropped"] + t["quarantined"] and t["llm_calls"] >= walks
    if path.name == "math_study_notes.py":
        assert FaithfulnessJudge in kinds
