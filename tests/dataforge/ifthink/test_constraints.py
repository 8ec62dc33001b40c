"""Conflict matrix, argument-level feasibility, rendering and seeded sampling of constraints."""

from __future__ import annotations

import random
from itertools import combinations

import pytest

from dataforge.core.errors import ForgeError
from dataforge.ifthink import (
    CONFLICTS,
    INSTRUCTION_IDS,
    MULTI_TURN_POOL,
    REGISTRY,
    Constraint,
    conflicts,
    feasible,
    infeasibility,
    plan_turns,
    sample_constraints,
)
from dataforge.ifthink.base import SampleContext
from dataforge.ifthink.text import blank_line_paragraphs, first_word, sentences, words


def test_conflict_matrix_is_symmetric_and_reflexive():
    for a in INSTRUCTION_IDS:
        assert conflicts(a, a)
        for b in INSTRUCTION_IDS:
            assert conflicts(a, b) == conflicts(b, a), (a, b)


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("language:response_language", "change_case:english_capital", True),
    ("language:response_language", "keywords:existence", True),
    ("length_constraints:number_paragraphs", "length_constraints:number_sentences", True),
    ("detectable_format:multiple_sections", "detectable_format:number_highlighted_sections", True),
    ("startend:quotation", "detectable_format:title", True),
    ("change_case:english_lowercase", "change_case:english_capital", True),
    ("detectable_format:json_format", "keywords:existence", False),
    ("detectable_format:json_format", "punctuation:no_comma", True),
    ("combination:two_responses", "detectable_format:title", False),
    ("combination:two_responses", "startend:end_checker", True),
    ("combination:repeat_prompt", "punctuation:no_comma", False),
    ("punctuation:no_comma", "detectable_format:title", False),
    ("length_constraints:number_words", "startend:end_checker", False),
])
def test_ifeval_conflict_pairs(a, b, expected):
    assert conflicts(a, b) is expected


def test_constrained_response_conflicts_with_every_type():
    assert CONFLICTS["detectable_format:constrained_response"] == frozenset(INSTRUCTION_IDS)


def test_infeasible_when_word_ceiling_is_below_required_content():
    few_words = Constraint(id="length_constraints:number_words", kwargs={"num_words": 4, "relation": "less than"})
    bullets = Constraint(id="detectable_format:number_bullet_lists", kwargs={"num_bullets": 5})
    assert "words" in infeasibility([few_words, bullets])
    assert not feasible([bullets], max_words=3)
    assert feasible([bullets], max_words=50)


def test_infeasible_when_a_forbidden_word_is_required_elsewhere():
    forbid = Constraint(id="keywords:forbidden_words", kwargs={"forbidden_words": ["river"]})
    need = Constraint(id="length_constraints:nth_paragraph_first_word",
                      kwargs={"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "river"})
    assert "forbids" in infeasibility([forbid, need])


def test_infeasible_when_sentence_limit_is_below_required_lines():
    limit = Constraint(id="length_constraints:number_sentences", kwargs={"num_sentences": 3, "relation": "less than"})
    bullets = Constraint(id="detectable_format:number_bullet_lists", kwargs={"num_bullets": 4})
    assert not feasible([limit, bullets])


def test_every_instruction_renders_with_its_arguments():
    ctx = SampleContext(rng=random.Random(3), prompt="Explain tides.", max_words=200)
    for i in INSTRUCTION_IDS:
        c = Constraint(id=i, kwargs=REGISTRY[i].sample(ctx))
        for variant in range(3):
            text = c.describe(variant)
            assert text and "{" not in text, (i, text)
            for v in c.kwargs.values():
                if isinstance(v, int):
                    assert str(v) in text, (i, text)
    lang = Constraint(id="language:response_language", kwargs={"language": "de"})
    assert "German" in lang.describe()
    assert "fewer than" in Constraint(id="length_constraints:number_words",
                                      kwargs={"num_words": 9, "relation": "less than"}).describe()


def test_sampling_is_seeded_and_never_conflicting():
    for seed in range(200):
        picked = sample_constraints(seed, 3, max_words=150)
        assert picked == sample_constraints(seed, 3, max_words=150)
        assert all(not conflicts(a.id, b.id) for a, b in combinations(picked, 2))
        assert feasible(picked, max_words=150)


def test_plan_turns_adds_new_compatible_constraints_every_turn():
    seen = set()
    for seed in range(150):
        plan = plan_turns(seed, 4, per_turn=(1, 2), max_words=120)
        assert plan == plan_turns(seed, 4, per_turn=(1, 2), max_words=120)
        assert len(plan) == 4 and all(1 <= len(turn) <= 2 for turn in plan)
        flat = [c for turn in plan for c in turn]
        assert len({c.id for c in flat}) == len(flat)
        assert all(not conflicts(a.id, b.id) for a, b in combinations(flat, 2))
        assert feasible(flat, max_words=120)
        seen.update(c.id for c in flat)
    # JSON output is compatible with only two other types, too few for four turns; all others appear.
    assert seen == set(MULTI_TURN_POOL) - {"detectable_format:json_format"}
    tight = plan_turns(1, 3, per_turn=(1, 1), pool=["detectable_format:json_format", "keywords:existence",
                                                    "keywords:forbidden_words"])
    assert {c.id for turn in tight for c in turn} == {"detectable_format:json_format", "keywords:existence",
                                                      "keywords:forbidden_words"}


def test_impossible_plan_raises_forge_error():
    with pytest.raises(ForgeError, match="could not plan"):
        plan_turns(0, 3, pool=["detectable_format:json_format", "punctuation:no_comma"], attempts=4)
    with pytest.raises(ForgeError, match="unknown instruction ids"):
        sample_constraints(0, 1, pool=["nope:nothing"])


def test_sentence_and_word_splitting_edge_cases():
    assert sentences("Mr. Brown paid $3.50 at 5 p.m. yesterday. Then he left...") == [
        "Mr. Brown paid $3.50 at 5 p.m. yesterday.", "Then he left..."]
    assert sentences("Visit example.com today! «Oui», dit-il. 你好。再见！") == [
        "Visit example.com today!", "«Oui», dit-il.", "你好。", "再见！"]
    assert sentences("...\n---\n") == []
    assert words("don't stop—state-of-the-art") == ["don", "t", "stop", "state", "of", "the", "art"]
    assert blank_line_paragraphs("a\n\n \n\nb\n") == ["a", "b"]
    assert first_word("> **\"Hello**, world") == "hello"
    assert first_word("1. Hello") == "1"
