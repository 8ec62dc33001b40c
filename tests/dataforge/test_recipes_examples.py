"""Every recipe example under examples/recipes/ loads and runs on the embedded model (two walks), and
the preference ones write preference records; strong vs weak uses a loopback server replaying a reply."""

import json
from pathlib import Path

import pytest

from dataforge import generate, load_generate_spec, resolve_seeds
from dataforge.core.records import load_metadata
from tests.reliability.fake_openai import serve

EXAMPLES = Path(__file__).parents[2] / "examples" / "recipes"
PAIR_DROPS = {"no_preference", "equal_answers", "too_few_candidates", "no_parseable_candidate"}


def run(name: str, llm, walks: int = 2, seeds: int | None = None):
    spec = load_generate_spec(EXAMPLES / name)
    seeds = resolve_seeds(spec.seeds, spec.graph, base=EXAMPLES)[:seeds]
    result = generate(spec.graph, seeds, walks=walks, backend=llm, use_cache=False)
    t = result.stats.totals
    assert t["walks"] == walks == t["records"] + t["dropped"] + t["quarantined"]
    return spec, result


def test_every_recipe_example_is_tested():
    assert {p.name for p in EXAMPLES.glob("*.py")} == {"math_pairs.py", "judge_pairs.py", "strong_weak.py",
                                                       "deepseek_dual.py", "think_budget.py"}


@pytest.mark.parametrize("name", ["math_pairs.py", "judge_pairs.py"])
def test_best_vs_worst_examples_write_preference_records_or_drop_with_a_reason(name, embedded_llm):
    spec, result = run(name, embedded_llm)
    assert spec.graph.record_kind == "preference"
    for row in result.records:
        assert row["chosen"] != row["rejected"] and row["prompt"]
        info = load_metadata(row["metadata"])["generator"]["steps"][-1]["best_of_n"]
        assert info["policy"] == "best_worst" and len(info["selected"]) == 2
    assert all(r["reason"] in PAIR_DROPS for r in result.dropped)


def test_strong_weak_pairs_the_servers_answer_with_the_embedded_one(embedded_llm, monkeypatch):
    spec = load_generate_spec(EXAMPLES / "strong_weak.py")  # to read the first problem's answer
    first = spec.seeds[0]
    recorded = {"choices": [{"index": 0, "finish_reason": "stop", "message": {
        "role": "assistant", "content": f"The answer is \\boxed{{{first.answer}}}.",
        "reasoning_content": "Add, then subtract."}}], "usage": {"completion_tokens": 12}}
    with serve() as fake:
        fake.recorded = recorded
        monkeypatch.setenv("FORGE_STRONG_BASE_URL", fake.url)
        spec, result = run("strong_weak.py", embedded_llm)
    assert spec.graph.record_kind == "preference"
    assert result.records, [r["reason"] for r in result.dropped]
    row = result.records[0]
    prompt, chosen = json.loads(row["prompt"]) if isinstance(row["prompt"], str) else row["prompt"], row["chosen"]
    chosen = json.loads(chosen) if isinstance(chosen, str) else chosen
    assert prompt[0]["content"] == "/think" and chosen[0]["reasoning_content"] == "Add, then subtract."
    assert all(r["reason"] in {"chosen_failed", "equal_answers"} for r in result.dropped)


def test_deepseek_dual_emits_both_samples_of_a_problem_or_drops_both(embedded_llm):
    spec, result = run("deepseek_dual.py", embedded_llm, seeds=1)  # walks 0 and 1 of one problem
    if result.records:
        kinds = sorted(len(json.loads(r["messages"]) if isinstance(r["messages"], str) else r["messages"])
                       for r in result.records)
        assert kinds == [2, 3]  # <problem, answer> and <system, problem, reasoning answer>
    else:
        assert {r["reason"] for r in result.dropped} == {"none_passed"}
        assert len({tuple(c["seed"] for c in load_metadata(r["metadata"])["generator"]["steps"][-1]["best_of_n"]
                          ["candidates"]) for r in result.dropped}) == 1  # both walks drew the same candidates


def test_think_budget_example_cuts_or_drops_within_budget(embedded_llm):
    spec, result = run("think_budget.py", embedded_llm)
    assert all(r["reason"] == "within_budget" for r in result.dropped)
