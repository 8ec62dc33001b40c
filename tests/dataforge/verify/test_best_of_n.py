"""Best-of-n on the embedded LLM: n seeded candidates per input in one batch, verified, selected, cached."""

import json

import pytest

from dataforge import BestOfN, CachedBackend, CallCache, Graph, LLMNode, Sampling, generate
from dataforge.core.errors import ForgeError
from dataforge.recipes import MathProblem, math_problems
from dataforge.verify import FunctionVerifier, MathVerifier

PROBLEMS = math_problems(2, seed=3)


class Solved(MathProblem):
    solution: str


class Pair(MathProblem):
    chosen: str
    rejected: str


def solve() -> LLMNode:
    return LLMNode("solve", MathProblem, Solved, prompt="{{ question }}\nPut the final answer in \\boxed{}.",
                   sampling=Sampling(max_tokens=8, temperature=1.0))


MATH = MathVerifier(answer="solution", reference="answer")
LONGER = FunctionVerifier(name="longer", fn=lambda s: (len(s.solution) / 100, f"{len(s.solution)} chars"),
                          threshold=0.3)


def steps(row):
    return json.loads(row["metadata"])["generator"]["steps"]


def stopped_info(row):
    return steps(row)[-1]["best_of_n"]


def test_candidates_are_one_batch_with_distinct_seeds_best_is_kept_and_a_rerun_is_cached(embedded_llm, tmp_path):
    llm = CachedBackend(embedded_llm, CallCache(tmp_path))
    g = Graph("bon", MathProblem, [BestOfN("solve3", solve(), n=3, verifier=LONGER, policy="best")])
    result = generate(g, PROBLEMS, walks=2, backend=llm)
    t = result.stats.totals
    assert llm.calls == 6 and llm.batches == 1
    assert t["walks"] == 2 == t["records"] + t["dropped"]
    for row in result.records + result.dropped:
        info = stopped_info(row)
        assert info["policy"] == "best" and info["n"] == 3 and info["verifier"]["kind"] == "function"
        assert [c["index"] for c in info["candidates"]] == [0, 1, 2]
        assert len({c["seed"] for c in info["candidates"]}) == 3
        assert all({"score", "passed", "reason", "text"} <= set(c) for c in info["candidates"])
    for row in result.records:
        info = stopped_info(row)
        best = max(info["candidates"], key=lambda c: (c["score"], -c["index"]))
        assert info["selected"] == [best["index"]] and best["passed"]
        assert steps(row)[-1]["output"]["solution"] == best["text"].strip()
    for row in result.dropped:
        assert row["reason"] in {"none_passed", "no_parseable_candidate"}
    again = generate(g, PROBLEMS, walks=2, backend=embedded_llm, cache=CallCache(tmp_path))
    assert again.stats.totals["cache_hits"] == 6 and again.stats.totals["llm_calls"] == 0
    assert again.records == result.records and again.dropped == result.dropped


def test_first_passing_stops_drawing_once_a_candidate_passes(embedded_llm):
    anything = FunctionVerifier(name="any", fn=lambda s: True)
    llm = CachedBackend(embedded_llm, None)
    g = Graph("bon", MathProblem, [BestOfN("solve4", solve(), n=4, verifier=anything, policy="first")])
    result = generate(g, PROBLEMS, walks=2, backend=llm, use_cache=False)
    assert llm.calls == 2  # the first candidate of each input passed: nothing more was drawn
    assert all(stopped_info(r)["selected"] == [0] and stopped_info(r)["drawn"] == 1 for r in result.records)


def test_all_passing_emits_every_passing_candidate_as_a_call(embedded_llm):
    anything = FunctionVerifier(name="any", fn=lambda s: True)
    g = Graph("bon", MathProblem, [BestOfN("solve2", solve(), n=2, verifier=anything, policy="all")])
    result = generate(g, PROBLEMS[:1], walks=1, backend=embedded_llm, use_cache=False, emit_calls=True)
    assert stopped_info(result.records[0])["selected"] == [0, 1]
    assert len(result.calls) == 2


def test_pairs_carry_chosen_and_rejected_or_drop_with_a_reason(embedded_llm):
    g = Graph("pairs", MathProblem, [BestOfN("pair3", solve(), n=3, verifier=LONGER, policy="best_worst",
                                             output=Pair)])
    result = generate(g, PROBLEMS, walks=2, backend=embedded_llm, use_cache=False)
    assert result.stats.totals["walks"] == len(result.records) + len(result.dropped)
    for row in result.records:
        info, out = stopped_info(row), steps(row)[-1]["output"]
        chosen, rejected = (next(c for c in info["candidates"] if c["index"] == k) for k in info["selected"])
        assert chosen["score"] > rejected["score"]
        assert out["chosen"] == chosen["text"].strip() and out["rejected"] == rejected["text"].strip()
    for row in result.dropped:
        assert row["reason"] in {"no_preference", "equal_answers", "too_few_candidates"} and row["detail"]


def test_bad_configurations_fail_in_one_line():
    with pytest.raises(ForgeError, match="needs output="):
        BestOfN("p", solve(), n=2, verifier=MATH, policy="pass_fail")
    with pytest.raises(ForgeError, match="n must be an int >= 2"):
        BestOfN("p", solve(), n=1, verifier=MATH, policy="best_worst", output=Pair)
    with pytest.raises(ForgeError, match="does not have"):
        BestOfN("p", solve(), n=2, verifier=MathVerifier(answer="reply", reference="answer"))
    with pytest.raises(ForgeError, match="unknown policy"):
        BestOfN("p", solve(), n=2, verifier=MATH, policy="median")


def test_per_input_candidates_are_shared_by_walks_reaching_the_same_input(embedded_llm):
    llm = CachedBackend(embedded_llm, None)
    anything = FunctionVerifier(name="any", fn=lambda s: True)
    node = BestOfN("solve2", solve(), n=2, verifier=anything, policy="best", per_input=True)
    result = generate(Graph("bon", MathProblem, [node]), PROBLEMS[:1], walks=2, backend=llm, use_cache=False)
    seeds = [[c["seed"] for c in stopped_info(r)["candidates"]] for r in result.records]
    assert len(result.records) == 2 and seeds[0] == seeds[1]
    assert steps(result.records[0])[-1]["output"] == steps(result.records[1])[-1]["output"]
