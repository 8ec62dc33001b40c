"""Think blocks and conversation verification against the constraints active in each turn."""

from __future__ import annotations

import random

from dataforge.ifthink import Constraint
from dataforge.ifthink.think import answer_of, mode_problem, split_think, with_think
from dataforge.ifthink.turns import FOLLOW_UPS, first_turn, follow_up_turn, pick_follow_up
from dataforge.ifthink.verify import verify_conversation

NO_COMMA = Constraint(id="punctuation:no_comma")
TITLE = Constraint(id="detectable_format:title")
LOWER = Constraint(id="change_case:english_lowercase")


def test_think_block_is_removed_before_checking():
    content = with_think("<<plan>> the answer has no commas", reasoning="First, a comma, then another, ok")
    assert split_think(content).reasoning.startswith("First")
    assert answer_of(content) == "<<plan>> the answer has no commas"
    assert NO_COMMA.check(answer_of(content)) and not NO_COMMA.check(content)


def test_mode_problems():
    assert mode_problem(with_think("answer", "reasoning"), thinking=True) is None
    assert mode_problem(with_think("answer"), thinking=False) is None
    assert mode_problem(with_think("answer"), thinking=True) == "missing_think"
    assert mode_problem("answer only", thinking=True) == "missing_think"
    assert mode_problem(with_think("answer", "reasoning"), thinking=False) == "nonempty_think"
    assert mode_problem("<think>never closed", thinking=True) == "malformed_think"
    assert mode_problem(with_think("ok</think>", "r"), thinking=True) == "malformed_think"
    assert mode_problem(with_think("", "r"), thinking=True) == "empty_answer"


def _chat(*answers: str) -> list[dict[str, str]]:
    out = []
    for i, a in enumerate(answers):
        out += [{"role": "user", "content": f"turn {i + 1}"}, {"role": "assistant", "content": a}]
    return out


def test_later_turns_are_checked_against_all_earlier_constraints():
    plan = [[NO_COMMA], [TITLE], [LOWER]]
    good = _chat(with_think("no commas here"), with_think("<<t>> still none"), with_think("<<t>> all lowercase"))
    assert verify_conversation(good, plan, thinking=False) == []
    # Turn 3 forgets the turn-1 rule and the turn-2 title: both ids are reported for turn 3.
    bad = _chat(with_think("no commas"), with_think("<<t>> fine"), with_think("oh, lowercase"))
    failures = verify_conversation(bad, plan, thinking=False)
    assert [(f.turn, f.instruction_ids) for f in failures] == [
        (3, ("punctuation:no_comma", "detectable_format:title"))]


def test_mode_failures_and_missing_turns_are_reported_with_turn_numbers():
    plan = [[NO_COMMA], [TITLE], [LOWER]]
    failures = verify_conversation(_chat(with_think("fine"), "no think block"), plan, thinking=True)
    assert [(f.turn, f.reason) for f in failures] == [(1, "missing_think"), (2, "missing_think"), (3, "missing_turn")]


def test_user_turns_render_new_constraints_and_optionally_restate():
    rng = random.Random(0)
    t1 = first_turn("Describe a lighthouse.", [NO_COMMA], rng)
    assert t1.startswith("Describe a lighthouse.") and "comma" in t1
    follow = pick_follow_up(rng, used=[])
    assert follow in FOLLOW_UPS
    t2 = follow_up_turn(follow, [TITLE], rng)
    assert "<<" in t2 and "comma" not in t2
    t3 = follow_up_turn(follow, [LOWER], rng, restate=[NO_COMMA, TITLE])
    assert "comma" in t3 and "lowercase" in t3
