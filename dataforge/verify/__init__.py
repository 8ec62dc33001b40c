"""Verifiers: deterministic, offline checks of a candidate answer, each giving a score and a reason.

    from dataforge.verify import MathVerifier, math_equal
    math_equal("So \\\\boxed{\\\\frac{1}{2}}.", "0.5")           # Verdict(score=1.0, passed=True, reason='pass')
    MathVerifier(answer="solution", reference="answer").verify(struct)

Kinds: `math` (math-verify equivalence), `exact`, `regex`, `ifeval` (a set of IFEval constraints),
`judge` (the LLM judge's score), `function` (a user function). Selection policies over scored
candidates live in `dataforge.verify.select`.
"""

from dataforge.core.lazy import lazy_exports

# Lazy: the best-of-n node imports `dataforge.verify.base` while the graph module is still loading,
# and the IFEval verifier imports the IFThink package, which imports the graph module.
_EXPORTS = {
    "dataforge.verify.base": ["Verdict", "Verifier"],
    "dataforge.verify.custom": ["FunctionVerifier", "JudgeVerifier"],
    "dataforge.verify.ifeval": ["IFEvalVerifier"],
    "dataforge.verify.match": ["ExactMatch", "RegexMatch", "normalize"],
    "dataforge.verify.math": ["MathVerifier", "math_equal"],
    "dataforge.verify.select": ["POLICIES", "Candidate", "Selection", "select"],
}
__getattr__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["POLICIES", "Candidate", "ExactMatch", "FunctionVerifier", "IFEvalVerifier", "JudgeVerifier",
           "MathVerifier", "RegexMatch", "Selection", "Verdict", "Verifier", "math_equal", "normalize", "select"]
