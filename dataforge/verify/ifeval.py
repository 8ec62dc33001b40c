"""A set of IFEval constraints as a verifier: the score is the share followed, passing is all of them."""

from __future__ import annotations

from typing import ClassVar

from dataforge.ifthink.constraints import Constraint
from dataforge.ifthink.think import answer_of
from dataforge.structs import Struct
from dataforge.verify.base import Verdict, Verifier, read_text


class IFEvalVerifier(Verifier):
    """Checks the answer (its think block removed) against IFEval constraints.

    Args:
        answer: the field holding the answer.
        constraints: fixed constraints for every candidate...
        constraints_field: ...or a field of the struct holding them (a list of `Constraint` or dicts
            with `id` and `kwargs`), for per-input instructions.
        strict: use DataForge's stricter checks instead of the reference IFEval verdicts
            (see `dataforge.ifthink.check`).
    Example:
        IFEvalVerifier(answer="reply", constraints=[Constraint(id="punctuation:no_comma")])
    """

    kind: ClassVar[str] = "ifeval"
    answer: str = "answer"
    constraints: tuple[Constraint, ...] = ()
    constraints_field: str | None = None
    strict: bool = False

    def fields(self) -> list[str]:
        return [self.answer] + ([self.constraints_field] if self.constraints_field else [])

    def of(self, value: Struct) -> list[Constraint]:
        if self.constraints_field is None:
            return list(self.constraints)
        got = getattr(value, self.constraints_field) or []
        return [c if isinstance(c, Constraint) else Constraint.model_validate(c) for c in got]

    def check(self, answer: str, constraints: list[Constraint] | None = None) -> Verdict:
        todo = list(self.constraints) if constraints is None else constraints
        if not todo:
            return Verdict(1.0, True, "pass: no constraints")
        text = answer_of(answer)
        failed = [c.id for c in todo if not c.check(text, strict=self.strict)]
        score = (len(todo) - len(failed)) / len(todo)
        if failed:
            return Verdict(score, False, f"constraint_failed: {', '.join(failed)}")
        return Verdict(score, True, "pass")

    def verify(self, value: Struct) -> Verdict:
        return self.check(read_text(value, self.answer), self.of(value))
