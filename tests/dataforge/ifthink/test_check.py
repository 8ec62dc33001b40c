"""Every IFEval instruction type gets responses that follow it and responses that do not."""

from __future__ import annotations

import pytest

from dataforge.core.errors import ForgeError
from dataforge.ifthink import INSTRUCTION_IDS, check

LT, AL = "less than", "at least"
NESTED_JSON = '{"user": {"name": "Zoë", "tags": ["a", {"deep": [1, 2, {"x": null}]}]}, "ok": true}'

# (instruction id, kwargs, response, expected)
CASES = [
    # keywords
    ("keywords:existence", {"keywords": ["river", "lantern"]}, "A Lantern hung by the river.", True),
    ("keywords:existence", {"keywords": ["river", "lantern"]}, "A lantern hung by the riverside.", False),
    ("keywords:existence", {"keywords": ["café"]}, "Nous étions au CAFÉ hier.", True),
    ("keywords:existence", {"keywords": ["river"]}, "", False),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": AL}, "Tower one, tower two.", True),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": AL}, "One tower; towers.", False),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": LT}, "One tower only.", True),
    ("keywords:frequency", {"keyword": "tower", "frequency": 2, "relation": LT}, "**Tower**, *tower*.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["cat", "dog"]}, "A category of dogma.", True),
    ("keywords:forbidden_words", {"forbidden_words": ["cat", "dog"]}, "My DOG sleeps.", False),
    ("keywords:forbidden_words", {"forbidden_words": ["cat"]}, "", False),  # empty: the harness fails it
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 3, "let_relation": AL}, "Zig zag zoo", True),
    ("keywords:letter_frequency", {"letter": "z", "let_frequency": 3, "let_relation": AL}, "Zig zag", False),
    ("keywords:letter_frequency", {"letter": "q", "let_frequency": 1, "let_relation": LT}, "No such letter.", True),
    ("keywords:letter_frequency", {"letter": "q", "let_frequency": 1, "let_relation": LT}, "Quite.", False),
    # language
    ("language:response_language", {"language": "fr"},
     "Le chat dort paisiblement sur le canapé du salon pendant que la pluie tombe.", True),
    ("language:response_language", {"language": "fr"},
     "The cat sleeps peacefully on the living room sofa while the rain falls.", False),
    ("language:response_language", {"language": "ja"}, "猫はソファの上で静かに眠っています。", True),
    ("language:response_language", {"language": "en"}, "", False),
    ("language:response_language", {"language": "en"}, "12345 !!! ...", False),
    # length constraints
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": AL},
     "Dr. Smith arrived at 3.30 p.m. today. He was late! Why? Nobody knows.", True),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": LT},
     "Dr. Smith arrived at 3.30 p.m. today. He was late! Why? Nobody knows.", False),
    ("length_constraints:number_sentences", {"num_sentences": 2, "relation": LT}, "東京は大きい。京都は古い。", False),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": AL}, "# Title\n* one\n* two", True),
    ("length_constraints:number_sentences", {"num_sentences": 1, "relation": AL}, "", False),
    ("length_constraints:number_words", {"num_words": 5, "relation": LT}, "Only four words here.", True),
    ("length_constraints:number_words", {"num_words": 5, "relation": LT}, "Now there are five words.", False),
    ("length_constraints:number_words", {"num_words": 3, "relation": AL}, "Straße naïve 東京", True),
    ("length_constraints:number_words", {"num_words": 1, "relation": AL}, "", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First part.\n***\nSecond part.", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "***\nFirst.\n***\nSecond.\n***", True),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n***\n\n***\nSecond.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 2}, "First.\n\nSecond.", False),
    ("length_constraints:number_paragraphs", {"num_paragraphs": 1}, "***bold italic*** is one paragraph.", False),  # the reference splits inline ***
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "river"},
     "Intro.\n\n**River** banks flood.\n\nEnd.", False),  # the reference reads "**river**"
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 3, "nth_paragraph": 2, "first_word": "river"},
     "Intro.\n\nThe river floods.\n\nEnd.", False),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "über"},
     "Eins.\n\n\"Über alles\", sagte er.", True),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "river"},
     "River.\n\nriver\n\nriver", False),
    # detectable content
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "Dear [name], meet at [address].", True),
    ("detectable_content:number_placeholders", {"num_placeholders": 2}, "See [the docs](http://x.y) and []", False),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body text.\n\nP.S. See you soon.", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body text.\n\np. s. lowercase works", True),
    ("detectable_content:postscript", {"postscript_marker": "P.S."}, "Body text mentions P.S. inline.", False),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body.\nP.S. one\nP.P.S two", True),
    ("detectable_content:postscript", {"postscript_marker": "P.P.S"}, "Body.\nP.S. only one", False),
    # detectable format
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "Intro:\n* one\n- two\n\n***\n**bold** line", True),
    ("detectable_format:number_bullet_lists", {"num_bullets": 2}, "* one\n* two\n+ three", False),
    ("detectable_format:number_bullet_lists", {"num_bullets": 1}, "", False),
    ("detectable_format:constrained_response", {}, "Hmm. My answer is maybe.", True),
    ("detectable_format:constrained_response", {}, "My answer is: yes", False),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "This is *key* and **also key**.", True),
    ("detectable_format:number_highlighted_sections", {"num_highlights": 2},
     "* a bullet\n* another\n2 * 3 * 4 = 24 and ** **", False),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "## Section 1\nIntro.\n**Section 2**\nMore.", True),
    ("detectable_format:multiple_sections", {"section_spliter": "Section", "num_sections": 2},
     "Section 1\nIntro. See Section 2 below.", False),
    ("detectable_format:multiple_sections", {"section_spliter": "SECTION", "num_sections": 1},
     "Section 1\nwrong case", False),
    ("detectable_format:json_format", {}, f"```json\n{NESTED_JSON}\n```", True),
    ("detectable_format:json_format", {}, NESTED_JSON, True),
    ("detectable_format:json_format", {}, NESTED_JSON[:-1], False),
    ("detectable_format:json_format", {}, "Here it is: " + NESTED_JSON, False),
    ("detectable_format:json_format", {}, '"just a string"', False),
    ("detectable_format:json_format", {}, "", False),
    ("detectable_format:title", {}, "<<A Winter's Tale>>\nOnce upon a time.", True),
    ("detectable_format:title", {}, "<< >> and <<broken\ntitle>>", False),
    # combination
    ("combination:two_responses", {}, "First answer.\n******\nSecond answer.", True),
    ("combination:two_responses", {}, "Same.\n******\nsame.", False),
    ("combination:two_responses", {}, "One.\n******\n\n******\nTwo.", False),
    ("combination:two_responses", {}, "Only one answer.", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a haiku about rain."},
     "write a haiku about   rain.\nSoft rain on the roof...", False),  # the reference keeps whitespace
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a haiku about rain."},
     "Sure! Write a haiku about rain.", False),
    ("combination:repeat_prompt", {"prompt_to_repeat": "Write a haiku about rain."},
     "write a Haiku about rain.\nSoft rain on the roof...", True),
    # start / end
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, '"Here you go. Any other questions?"', True),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "Any other questions? Bye.", False),
    ("startend:end_checker", {"end_phrase": "Any other questions?"}, "", False),
    ("startend:quotation", {}, '"The whole answer, quoted."', True),
    ("startend:quotation", {}, "“Curly quotes count too.”", False),  # the reference: straight quotes only
    ("startend:quotation", {}, '"Half quoted.', False),
    ("startend:quotation", {}, '""', False),
    # change case
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": AL},
     "This is VERY IMPORTANT and state-of-the-art.", True),
    ("change_case:capital_word_frequency", {"capital_frequency": 2, "capital_relation": AL},
     "Only ONE capital word.", False),
    ("change_case:capital_word_frequency", {"capital_frequency": 1, "capital_relation": LT}, "", False),  # empty
    ("change_case:english_capital", {}, "THE WEATHER TODAY IS SUNNY AND WARM ACROSS THE WHOLE COUNTRY.", True),
    ("change_case:english_capital", {}, "THE WEATHER TODAY IS sunny AND WARM.", False),
    ("change_case:english_capital", {}, "LE TEMPS AUJOURD'HUI EST ENSOLEILLÉ ET CHAUD DANS TOUT LE PAYS.", False),
    ("change_case:english_capital", {}, "", False),
    ("change_case:english_lowercase", {}, "the weather today is sunny and warm across the whole country.", True),
    ("change_case:english_lowercase", {}, "the weather today is Sunny.", False),
    ("change_case:english_lowercase", {}, "el clima de hoy es soleado y cálido en todo el país.", False),
    # punctuation
    ("punctuation:no_comma", {}, "No commas at all. Not one!", True),
    ("punctuation:no_comma", {}, "Well, there is one.", False),
    ("punctuation:no_comma", {}, "東京、大阪と京都", False),
    ("punctuation:no_comma", {}, "", False),  # empty: the harness fails it
]


def test_library_has_the_25_ifeval_instruction_types():
    assert len(INSTRUCTION_IDS) == 25
    assert {i.split(":")[0] for i in INSTRUCTION_IDS} == {
        "keywords", "language", "length_constraints", "detectable_content", "detectable_format",
        "combination", "startend", "change_case", "punctuation"}


def test_every_instruction_type_has_a_passing_and_a_failing_case():
    outcomes = {(i, expected) for i, _, _, expected in CASES}
    assert {i for i, e in outcomes if e} == set(INSTRUCTION_IDS)
    assert {i for i, e in outcomes if not e} == set(INSTRUCTION_IDS)


@pytest.mark.parametrize(("instruction_id", "kwargs", "response", "expected"), CASES,
                         ids=[f"{c[0]}-{n}" for n, c in enumerate(CASES)])
def test_strict_check_verdict_matches_expected(instruction_id, kwargs, response, expected):
    # Strict mode: DataForge's own rules and the reference verdict (tests/dataforge/ifthink/test_reference.py
    # covers the reference verdicts alone).
    assert check(instruction_id, kwargs, response, strict=True) is expected


def test_check_is_deterministic_across_repeated_calls():
    verdicts = [[check(i, k, r) for i, k, r, _ in CASES] for _ in range(3)]
    assert verdicts[0] == verdicts[1] == verdicts[2]


def test_ifeval_style_null_arguments_are_ignored():
    kwargs = {"num_words": 3, "relation": AL, "keywords": None, "language": None}
    assert check("length_constraints:number_words", kwargs, "one two three")


@pytest.mark.parametrize(("instruction_id", "kwargs", "needle"), [
    ("length_constraints:number_word", {}, "unknown instruction id"),
    ("length_constraints:number_words", {"num_words": 3}, "missing argument 'relation'"),
    ("length_constraints:number_words", {"num_words": 3, "relation": "at most"}, "must be one of"),
    ("length_constraints:number_words", {"num_words": "3", "relation": AL}, "must be a int"),
    ("length_constraints:number_words", {"num_words": True, "relation": AL}, "must be a int"),
    ("punctuation:no_comma", {"strict": True}, "unknown argument"),
    ("keywords:existence", {"keywords": []}, "non-empty list"),
    ("keywords:letter_frequency", {"letter": "ab", "let_frequency": 1, "let_relation": AL}, "one character"),
    ("length_constraints:nth_paragraph_first_word", {"num_paragraphs": 2, "nth_paragraph": 3, "first_word": "a"},
     "past num_paragraphs"),
])
def test_bad_arguments_raise_one_line_forge_error(instruction_id, kwargs, needle):
    with pytest.raises(ForgeError, match=needle) as err:
        check(instruction_id, kwargs, "text")
    assert "\n" not in str(err.value)
