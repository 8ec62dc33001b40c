"""Selection policies on hand-made candidates: what each keeps, and why a pair is dropped."""

import pytest

from dataforge.verify import Verdict
from dataforge.verify.select import Candidate, select


def cand(i, score, passed=None, text=None, parsed=True):
    passed = score >= 1.0 if passed is None else passed
    return Candidate(i, text if text is not None else f"answer {i}", Verdict(score, passed, "r"), parsed)


def test_best_keeps_the_highest_passing_score_ties_to_the_lowest_index():
    cands = [cand(0, 0.0), cand(1, 1.0), cand(2, 1.0), cand(3, 0.5)]
    assert select("best", cands).kept == [1]


def test_best_drops_when_nothing_passes_naming_the_best_reason():
    got = select("best", [cand(0, 0.5, False), cand(1, 0.0)])
    assert got.drop == "none_passed" and "best 0" in got.detail


def test_first_keeps_the_first_passing_candidate():
    assert select("first", [cand(0, 0.0), cand(1, 0.7, True), cand(2, 1.0)]).kept == [1]


def test_all_keeps_every_passing_candidate():
    assert select("all", [cand(0, 1.0), cand(1, 0.0), cand(2, 1.0)]).kept == [0, 2]


def test_unparseable_candidates_are_never_selected():
    got = select("best", [cand(0, 0.0, parsed=False)])
    assert got.drop == "no_parseable_candidate"
    assert select("best_worst", [cand(0, 1.0), cand(1, 0.0, parsed=False)]).drop == "too_few_candidates"


def test_best_worst_pairs_highest_with_lowest():
    assert select("best_worst", [cand(0, 0.5, False), cand(1, 1.0), cand(2, 0.0), cand(3, 0.0)]).kept == [1, 2]


def test_pass_fail_pairs_best_passing_with_worst_failing():
    got = select("pass_fail", [cand(0, 0.6, False), cand(1, 1.0), cand(2, 0.2, False)])
    assert got.kept == [1, 2]


@pytest.mark.parametrize(("policy", "cands", "reason"), [
    ("best_worst", [cand(0, 1.0), cand(1, 1.0)], "no_preference"),
    ("best_worst", [cand(0, 1.0, text="42"), cand(1, 0.0, text=" 42 ")], "equal_answers"),
    ("best_worst", [cand(0, 1.0)], "too_few_candidates"),
    ("pass_fail", [cand(0, 0.0), cand(1, 0.0)], "no_passing"),
    ("pass_fail", [cand(0, 1.0), cand(1, 1.0)], "no_failing"),
    ("pass_fail", [cand(0, 1.0, text="Same"), cand(1, 0.0, text="same")], "equal_answers"),
    ("pass_fail", [cand(0, 0.5, True), cand(1, 0.5, False)], "no_preference"),
])
def test_pairs_without_a_real_preference_are_dropped_with_a_reason(policy, cands, reason):
    got = select(policy, cands)
    assert got.drop == reason and got.kept == [] and got.detail


def test_margin_drops_close_pairs():
    cands = [cand(0, 0.6, True), cand(1, 0.5, False)]
    assert select("best_worst", cands).kept == [0, 1]
    assert select("best_worst", cands, margin=0.2).drop == "no_preference"


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="unknown policy"):
        select("median", [cand(0, 1.0)])
