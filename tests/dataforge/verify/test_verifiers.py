"""Verifiers: math equivalence (math-verify), exact and regex match, IFEval sets, user functions."""

import pytest

from dataforge.core.errors import ForgeError
from dataforge.core.spec import SpecValidationError
from dataforge.ifthink import Constraint
from dataforge.structs import Struct
from dataforge.verify import (
    ExactMatch,
    FunctionVerifier,
    IFEvalVerifier,
    JudgeVerifier,
    MathVerifier,
    RegexMatch,
    Verdict,
    math_equal,
)

EQUAL = [  # (model answer, reference): equal answers written differently
    (r"The answer is \boxed{42}.", "42"),
    (r"\boxed{\frac{1}{2}}", "0.5"),
    (r"\boxed{0.5}", r"\frac{1}{2}"),
    (r"So we get \boxed{\dfrac{3}{4}}", "3/4"),
    (r"\boxed{3/4}", r"\frac{3}{4}"),
    (r"\boxed{2\sqrt{2}}", r"\sqrt{8}"),
    (r"\boxed{x^2+2x+1}", "(x+1)^2"),
    (r"\boxed{\{1,2,3\}}", r"\{3,2,1\}"),
    (r"\boxed{[0,1)}", "[0, 1)"),
    (r"\boxed{(-\infty, 2]}", r"(-\infty,2]"),
    (r"\boxed{1,2}", "2,1"),
    ("The total is 18.", "18"),
    ("x = 3", "3"),
    (r"\boxed{12\%}", "12"),
    (r"\boxed{-7}", "-7"),
    (r"\boxed{1000}", "1,000"),
    (r"\boxed{\pi}", r"\pi"),
    (r"\boxed{2\pi}", r"2 \pi"),
    (r"\boxed{\frac{\pi}{2}}", r"\pi/2"),
    (r"\boxed{0.25}", "1/4"),
    (r"\boxed{\frac{6}{8}}", r"\frac{3}{4}"),
    (r"\boxed{3.0}", "3"),
    (r"\boxed{10^3}", "1000"),
    (r"\boxed{2^{10}}", "1024"),
    (r"\boxed{\sqrt{16}}", "4"),
    (r"\boxed{a+b}", "b+a"),
    (r"\boxed{2(x+1)}", "2x+2"),
    (r"First \boxed{5}, no wait, \boxed{6}", "6"),
    (r"\boxed{\frac{1}{3}}", r"\frac{2}{6}"),
    (r"\boxed{-\frac{1}{2}}", "-0.5"),
    (r"\boxed{\left(1, 2\right)}", "(1,2)"),
    (r"\boxed{\text{(B)}}", "B"),
]

UNEQUAL = [
    (r"\boxed{41}", "42"),
    (r"\boxed{\frac{1}{3}}", "0.5"),
    (r"\boxed{0.333}", "1/3"),
    (r"\boxed{(0,1]}", "[0, 1)"),
    (r"\boxed{[0,1]}", "[0, 1)"),
    (r"\boxed{\{1,2\}}", r"\{1,2,3\}"),
    (r"\boxed{x^2+1}", "(x+1)^2"),
    (r"\boxed{2\sqrt{3}}", r"\sqrt{8}"),
    (r"\boxed{-7}", "7"),
    (r"\boxed{100}", "1000"),
    (r"\boxed{\pi}", "3"),
    (r"\boxed{2^{9}}", "1024"),
    (r"\boxed{a-b}", "b-a"),
    (r"\boxed{2x+1}", "2(x+1)"),
    (r"First \boxed{6}, no wait, \boxed{5}", "6"),
    ("The total is 17.", "18"),
    ("no numbers here", "5"),
    ("", "5"),
    (r"\boxed{3/5}", r"\frac{3}{4}"),
    (r"\boxed{0.26}", "1/4"),
    (r"\boxed{\frac{\pi}{3}}", r"\pi/2"),
    (r"\boxed{1,2,4}", "1,2,3"),
    (r"\boxed{(1,3)}", "(1,2)"),
    (r"\boxed{-0.5}", "0.5"),
    (r"\boxed{12}", "13"),
    (r"\boxed{4}", r"\sqrt{8}"),
    (r"\boxed{e}", r"\pi"),
    (r"\boxed{2}", "-2"),
    (r"\boxed{10^{4}}", "1000"),
    (r"\boxed{\frac{2}{3}}", r"\frac{3}{2}"),
    (r"\boxed{0}", "1"),
]


@pytest.mark.parametrize(("answer", "reference"), EQUAL)
def test_math_equal_pairs_pass(answer, reference):
    got = math_equal(answer, reference)
    assert got == Verdict(1.0, True, "pass"), got


@pytest.mark.parametrize(("answer", "reference"), UNEQUAL)
def test_math_unequal_pairs_fail_with_a_reason(answer, reference):
    got = math_equal(answer, reference)
    assert not got.passed and got.score == 0.0
    assert got.reason.split(":")[0] in {"not_equal", "no_answer"}, got


def test_math_pair_lists_are_large_enough():
    assert len(EQUAL) >= 30 and len(UNEQUAL) >= 30


def test_math_reasons_name_what_went_wrong():
    assert math_equal("I cannot say.", "5").reason == "no_answer"
    assert math_equal(r"\boxed{5}", "").reason == "bad_reference"
    assert math_equal(r"\boxed{4}", "5").reason == "not_equal: got 4, expected 5"


class Solved(Struct):
    question: str
    solution: str
    answer: str


def test_math_verifier_reads_struct_fields_and_is_deterministic():
    v = MathVerifier(answer="solution", reference="answer")
    s = Solved(question="1+1?", solution=r"1+1 = \boxed{2}", answer="2")
    assert v.verify(s).passed and v.verify(s) == v.verify(s)
    assert not v.verify(s.model_copy(update={"answer": "3"})).passed
    with pytest.raises(ForgeError, match="does not have"):
        MathVerifier(answer="reply").check_struct(Solved, "node x")


def test_exact_match_normalizes_whitespace_and_case():
    v = ExactMatch(answer="solution", reference="answer")
    assert v.check("  Paris\n", "paris").passed
    assert not ExactMatch(casefold=False).check("Paris", "paris").passed
    assert v.check("Lyon", "Paris").reason == "mismatch: got 'lyon'"
    assert v.check("   ", "Paris").reason == "empty_answer"


def test_regex_match_search_and_full_and_bad_pattern_is_one_line():
    assert RegexMatch(pattern=r"\byes\b").check("Well, yes.").passed
    full = RegexMatch(pattern=r"(yes|no)\.?", full=True, ignore_case=True)
    assert full.check(" Yes. ").passed and not full.check("Well, yes.").passed
    assert full.check("maybe").reason == "no_match"
    with pytest.raises(SpecValidationError, match=r"RegexMatch.pattern: .*not a regular expression") as e:
        RegexMatch(pattern="(unclosed")
    assert "\n" not in str(e.value)


def test_ifeval_verifier_scores_the_share_followed_and_ignores_the_think_block():
    v = IFEvalVerifier(constraints=[Constraint(id="punctuation:no_comma"),
                                    Constraint(id="change_case:english_lowercase")])
    assert v.check("<think>Hmm, Let me see.</think>\n\nall lower and no commas").passed
    half = v.check("All upper? no commas")
    assert half.score == 0.5 and not half.passed and half.reason == "constraint_failed: change_case:english_lowercase"


def test_ifeval_verifier_reads_per_input_constraints():
    class Reply(Struct):
        answer: str
        constraints: list[dict]

    v = IFEvalVerifier(constraints_field="constraints")
    r = Reply(answer="a, b", constraints=[{"id": "punctuation:no_comma", "kwargs": {}}])
    assert v.verify(r).reason == "constraint_failed: punctuation:no_comma"


def test_function_verifier_accepts_bool_float_pair_and_verdict():
    s = Solved(question="q", solution="a short answer", answer="x")
    assert FunctionVerifier(name="short", fn=lambda v: len(v.solution.split()) < 5).verify(s).passed
    low = FunctionVerifier(name="len", fn=lambda v: 0.3, threshold=0.5).verify(s)
    assert low == Verdict(0.3, False, "len_low")
    assert FunctionVerifier(name="pair", fn=lambda v: (True, "ok")).verify(s).reason == "ok"
    with pytest.raises(ForgeError, match="returned str"):
        FunctionVerifier(name="bad", fn=lambda v: "yes").verify(s)


def test_judge_verifier_needs_the_engine_context():
    from dataforge.nodes.judge import JudgeNode

    class Graded(Solved):
        score: int
        rationale: str

    judge = JudgeNode("grade", Solved, Graded, rubric="Correct.", threshold=4)
    v = JudgeVerifier(judge=judge)
    assert v.describe()["judge"]["rubric"] == "Correct."
    with pytest.raises(ForgeError, match="calls the model"):
        v.verify(Solved(question="q", solution="s", answer="a"))
