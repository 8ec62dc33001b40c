"""Verifiers: deterministic, offline checks of a candidate answer, each giving a score and a reason.

    from dataforge.verify import MathVerifier, math_equal
    math_equal("So \\\\boxed{\\\\frac{1}{2}}.", "0.5")           # Verdict(score=1.0, passed=True, reason='pass')
    MathVerifier(answer="solution", reference="answer").verify(struct)

Kinds: `math` (math-verify equivalence), `exact`, `regex`, `ifeval` (a set of IFEval constraints),
`judge` (the LLM judge's score), `function` (a user function).
"""

from dataforge.verify.base import Verdict, Verifier
from dataforge.verify.custom import FunctionVerifier, JudgeVerifier
from dataforge.verify.ifeval import IFEvalVerifier
from dataforge.verify.match import ExactMatch, RegexMatch, normalize
from dataforge.verify.math import MathVerifier, math_equal

__all__ = ["ExactMatch", "FunctionVerifier", "IFEvalVerifier", "JudgeVerifier", "MathVerifier", "RegexMatch",
           "Verdict", "Verifier", "math_equal", "normalize"]
