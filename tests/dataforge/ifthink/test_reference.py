"""Reference IFEval verdicts (the harness's strict accuracy) vs DataForge's strict mode, per instruction type.

Each row: (instruction id, kwargs, response, reference verdict, strict verdict). Rows where the two
differ show a documented difference (docs/rephrase_ifthink.md); strict never passes what the reference fails.
"""

from __future__ import annotations

import pytest

from dataforge.ifthink import INSTRUCTION_IDS, check

LT, AL = "less than", "at least"

ROWS = [
    ("keywords:existence", {"keywords": ["cat"]}, "A category of things.", True, False),  # substring
    ("keywords:existence", {"keywords": ["cat"]}, "The Cat sat.", True, True),
    ("keywords:existence", {"keywords": ["dog"]}, "The cat sat.", False, False),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": AL}, "One tower; towers.", True, False),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": LT}, "One tower; towers.", False, False),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": AL}, "Tower, tower.", True, True),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "A category.", True, True),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "My CAT.", False, False),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 2, "let_relation": AL}, "Zig zag", True, True),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 3, "let_relation": AL}, "Zig zag", False, False),
    ("language:response_language", {"language": "fr"}, "Le chat dort sur le canapé depuis ce matin.", True, True),
    ("language:response_language", {"language": "fr"}, "The cat has been asleep on the sofa all morning.",
     False, False),
    ("language:response_language", {"language": "fr"}, "12345 !!!", True, False),  # nothing to detect
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": AL}, "One. Two.", True, True),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": LT}, "One. Two.", False, False),
    ("length_constraints:number_words", {"num_words": 3, "relation": AL}, "one two three", True, True),
    ("length_constraints:number_words", {"num_words": 3, "relation": LT}, "one two three", False, False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\nSecond.", True, True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First. *** Second.", True, False),  # inline
    ("length_constraints:number_paragraphs", {"num_paragraphs": 1}, "***bold*** one.", False, False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "river"},
     "Intro.\n\nRiver, wide.", True, True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "river"},
     "Intro.\n\n# River banks", False, False),  # the reference reads "#"
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "river"},
     "Intro.\n \nRiver banks", False, False),  # one paragraph for the reference ("\n \n" is no split)
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[a] and [](link)", True, False),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name] and [date]", True, True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "[name] only", False, False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body.\np.s. bye", True, True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body, see the p.s. below", True, False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body. PS bye", False, False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n* b", True, True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* a\n---\n", True, False),  # a rule counts
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "+ a\n+ b", False, False),  # + items do not
    ("detectable_format:constrained_response", {}, "My answer is yes.", True, True),
    ("detectable_format:constrained_response", {}, "Yes.", False, False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "2 * 3 * 4", True, False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2}, "*a* and **b**", True, True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 1}, "no marks", False, False),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\na\nSection 2\nb", True, True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\na\nSection 2\nb\nSection 3\nc", True, False),  # at least N
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1 only", False, False),
    ("detectable_format:json_format", {}, '```json\n{"a": 1}\n```', True, True),
    ("detectable_format:json_format", {}, "42", True, False),  # any JSON value
    ("detectable_format:json_format", {}, "{oops}", False, False),
    ("detectable_format:title", {}, "<<Tides>> text", True, True),
    ("detectable_format:title", {}, "<<broken\ntitle>>", False, False),
    ("detectable_format:title", {}, "<<  >> text", False, False),
    ("combination:two_responses", {}, "Same.\n******\nsame.", True, False),  # case differs only
    ("combination:two_responses", {}, "One.\n******\nTwo.", True, True),
    ("combination:two_responses", {}, "One.\n******\n\n******\nTwo.", False, False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "say HI. Hi!", True, True),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Say hi."}, "Say  hi. Hi!", False, False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Done. Any other questions?"', True, True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Done. Any other  questions?", False, False),
    ("startend:quotation", {}, '"Quoted."', True, True),
    ("startend:quotation", {}, '""', True, False),
    ("startend:quotation", {}, "“Curly.”", False, False),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": AL}, "I DON'T know", True,
     True),  # the reference counts DO and N'T; strict counts I and DON'T
    ("change_case:capital_word_frequency", {"capital_frequency": 3, "capital_relation": AL}, "I DON'T know", True,
     False),
    ("change_case:capital_word_frequency", {"capital_frequency": 1, "capital_relation": AL}, "all lower", False,
     False),
    ("change_case:english_capital", {}, "THE CAT SAT ON THE MAT ALL DAY LONG.", True, True),
    ("change_case:english_capital", {}, "The cat sat.", False, False),
    ("change_case:english_lowercase", {}, "the cat sat on the mat all day long.", True, True),
    ("change_case:english_lowercase", {}, "The cat sat.", False, False),
    ("punctuation:no_comma", {}, "東京、大阪", True, False),  # ideographic comma
    ("punctuation:no_comma", {}, "No commas.", True, True),
    ("punctuation:no_comma", {}, "One, two.", False, False),
]


@pytest.mark.parametrize(("iid", "kwargs", "response", "reference", "strict"), ROWS,
                         ids=[f"{r[0]}-{n}" for n, r in enumerate(ROWS)])
def test_reference_and_strict_verdicts(iid, kwargs, response, reference, strict):
    assert check(iid, kwargs, response) is reference
    assert check(iid, kwargs, response, strict=True) is strict


def test_every_instruction_type_is_covered_in_both_modes_with_a_pass_and_a_fail():
    assert {r[0] for r in ROWS if r[3]} == set(INSTRUCTION_IDS)
    assert {r[0] for r in ROWS if not r[3]} == set(INSTRUCTION_IDS)
    assert {r[0] for r in ROWS if r[4]} == set(INSTRUCTION_IDS)


def test_strict_never_passes_what_the_reference_fails():
    assert not [r for r in ROWS if r[4] and not r[3]]


@pytest.mark.parametrize("iid", INSTRUCTION_IDS)
def test_empty_response_fails_every_instruction_in_both_modes(iid):
    from dataforge.ifthink.base import REGISTRY

    # Arguments that a non-empty response could meet trivially ("less than" relations, forbidden words).
    kwargs = {"keywords": ["x"], "keyword": "x", "frequency": 1, "relation": LT, "forbidden_words": ["x"],
              "letter": "x", "let_frequency": 1, "let_relation": LT, "language": "en", "num_sentences": 1,
              "num_words": 1, "num_paragraphs": 1, "nth_paragraph": 1, "first_word": "x",
              "num_placeholders": 1, "postscript_marker": "P.S.", "num_bullets": 1, "num_highlights": 1,
              "section_spliter": "Section", "num_sections": 1, "prompt_to_repeat": "x", "end_phrase": "x",
              "capital_frequency": 1, "capital_relation": LT}
    mine = {a.name: kwargs[a.name] for a in REGISTRY[iid].args}
    assert not check(iid, mine, "  \n") and not check(iid, mine, "", strict=True)
