"""Verifiers that delegate: the LLM judge's score, and a user function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pydantic import field_validator

from dataforge.core.errors import ForgeError
from dataforge.nodes.base import Item, WalkStep
from dataforge.nodes.judge import JudgeNode
from dataforge.structs import Struct
from dataforge.verify.base import Verdict, Verifier


class JudgeVerifier(Verifier):
    """The LLM judge's score as a verdict: the score scaled to [0, 1], passing at the judge's threshold.

    The judge (a `JudgeNode`) sees each candidate as its input; its calls go through the engine's
    context, so they are batched with the round, cached and seeded per candidate like every call.
    A reply that never parses gives score 0 with reason `judge_unparseable`.

    Args:
        judge: the judge node (its rubric, scale, threshold, sampling and prompt).
    Example:
        JudgeVerifier(judge=JudgeNode("grade", Answer, Graded, rubric="Correct and clear.", threshold=4))
    """

    kind: ClassVar[str] = "judge"
    calls_llm: ClassVar[bool] = True
    judge: JudgeNode

    def fields(self) -> list[str]:
        return list(self.judge.shown)

    def check_struct(self, output: type[Struct], where: str) -> None:
        if not issubclass(output, self.judge.input):
            super().check_struct(output, where)

    def verify(self, value: Struct) -> Verdict:
        raise ForgeError(f"verifier judge ({self.judge.name}) calls the model; use it inside a graph "
                         "(best-of-n) or call verify_batch with the engine context")

    def verify_batch(self, keys: Sequence[str], values: Sequence[Struct], ctx: Any = None,
                     node: str = "verify") -> list[Verdict]:
        if ctx is None:
            return [self.verify(v) for v in values]
        items = [Item(k, self.judge.input.model_validate(v.model_dump()) if not isinstance(v, self.judge.input)
                      else v) for k, v in zip(keys, values, strict=True)]
        outcomes = super(JudgeNode, self.judge).run(items, ctx)  # the LLM call, without the threshold drop
        lo, hi = self.judge.scale
        out = []
        for o in outcomes:
            if not isinstance(o, WalkStep):
                out.append(Verdict(0.0, False, "judge_unparseable"))
                continue
            score = float(getattr(o.output, self.judge.score_field))
            why = str(getattr(o.output, self.judge.rationale_field))[:160]
            passed = score >= self.judge.threshold
            out.append(Verdict((score - lo) / (hi - lo) if hi > lo else 1.0, passed,
                               f"{'pass' if passed else 'below_threshold'}: {score:g}/{hi:g} {why}".strip()))
        return out

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "judge": self.judge.describe()}


class FunctionVerifier(Verifier):
    """A user function as a verifier. It must be deterministic and must not execute model output.

    Args:
        fn: `fn(value) -> bool | float | (score, reason) | Verdict`; a bool passes when True, a float
            passes at `threshold`.
        name: how lineage names it.
        threshold: the lowest float score that passes.
    Example:
        FunctionVerifier(name="short", fn=lambda v: len(v.answer.split()) <= 50)
    """

    kind: ClassVar[str] = "function"
    name: str
    fn: Callable[[Struct], Any]
    threshold: float = 1.0

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        from dataforge.core.spec import check_name

        return check_name(v)

    def verify(self, value: Struct) -> Verdict:
        got = self.fn(value)
        if isinstance(got, Verdict):
            return got
        reason = ""
        if isinstance(got, tuple) and len(got) == 2:
            got, reason = got
        if isinstance(got, bool):
            return Verdict(1.0 if got else 0.0, got, reason or ("pass" if got else f"{self.name}_failed"))
        if isinstance(got, (int, float)):
            passed = float(got) >= self.threshold
            return Verdict(float(got), passed, reason or ("pass" if passed else f"{self.name}_low"))
        raise ForgeError(f"verifier {self.name}: fn returned {type(got).__name__}; return a bool, a float, "
                         "(score, reason) or a Verdict")

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "fn": getattr(self.fn, "__qualname__", repr(self.fn)),
                "threshold": self.threshold}
