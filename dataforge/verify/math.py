"""Math answer equivalence with the `math-verify` library (boxed answers, LaTeX, fractions, sets, intervals).

The reference and the candidate are both parsed into sympy objects (the candidate's last `\\boxed{}`
answer wins, else the last expression math-verify can extract) and compared symbolically and
numerically. Nothing is evaluated from the text beyond parsing it: no `eval`, no code execution.
"""

from __future__ import annotations

import threading
from typing import ClassVar

from dataforge.structs import Struct
from dataforge.verify.base import Verdict, Verifier, read_text, verdict

INSTALL_HINT = "math verification needs math-verify: pip install math-verify==0.9.0"
_TIMEOUT_S = 5  # math-verify's own guard against pathological expressions; needs the main thread (SIGALRM)


def _math_verify():
    try:
        import math_verify
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    return math_verify


def _timeout() -> int | None:
    # math-verify times out with SIGALRM, which only the main thread may set; elsewhere (Spark
    # executor threads, servers) it runs without one.
    return _TIMEOUT_S if threading.current_thread() is threading.main_thread() else None


def _parse(text: str):
    mv = _math_verify()
    return mv.parse(text, parsing_timeout=_timeout())


def last_boxed(text: str) -> str | None:
    """The last `\\boxed{...}` (or `\\fbox{...}`) of `text` with balanced braces, or None."""
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    depth = 0
    for i in range(text.index("{", start), len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[start:i + 1]
    return None  # unclosed: let math-verify read what it can


def _shown(parsed) -> str:
    return str(parsed[-1]) if parsed else ""


def math_equal(answer: str, reference: str) -> Verdict:
    """Is the math answer in `answer` equal to `reference`?

    Reasons: `pass`, `not_equal: got X, expected Y`, `no_answer` (nothing math-verify can read in the
    candidate), `bad_reference` (nothing readable in the reference: fix the data).

    Example:
        math_equal("So the total is \\\\boxed{\\\\frac{1}{2}}.", "0.5").passed  # True
    """
    # A bare reference ("3/4", "\\frac{3}{4}", "[0, 1)") is read as LaTeX math; one with its own `$`
    # or `\\boxed{}` as it is.
    gold = _parse(reference if "$" in reference or "boxed" in reference else f"${reference}$")
    if not gold:
        gold = _parse(reference)
    if not gold:
        return verdict(False, "bad_reference")
    # The last boxed answer is the final one ("\\boxed{5}, no wait, \\boxed{6}" answers 6); math-verify
    # alone would join every boxed answer into a set.
    got = _parse(last_boxed(answer) or answer)
    if not got:
        return verdict(False, "no_answer")
    ok = _math_verify().verify(gold, got, timeout_seconds=_timeout())
    if ok:
        return verdict(True, "pass")
    return verdict(False, f"not_equal: got {_shown(got)[:60]}, expected {_shown(gold)[:60]}")


class MathVerifier(Verifier):
    """Math answer equivalence of one field against a reference field.

    Args:
        answer: the field holding the model's answer (free text with a `\\boxed{}` answer, or LaTeX).
        reference: the field holding the known answer.
    Example:
        MathVerifier(answer="solution", reference="answer").verify(value)
    """

    kind: ClassVar[str] = "math"
    answer: str = "answer"
    reference: str = "reference"

    def fields(self) -> list[str]:
        return [self.answer, self.reference]

    def verify(self, value: Struct) -> Verdict:
        return math_equal(read_text(value, self.answer), read_text(value, self.reference))

    def check(self, answer: str, reference: str) -> Verdict:
        return math_equal(answer, reference)
