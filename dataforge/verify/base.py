"""The verifier contract: a deterministic check of one candidate that returns a score and a reason.

A verifier reads the candidate's answer (and, where it needs one, the reference) from fields of the
struct a node produced, so the same object scores a graph's outputs, best-of-n candidates and
plain strings (`check(answer, reference)`). Verifiers never execute model output and never reach the
network; the LLM judge's verifier calls the model through the engine's cached, batched context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ConfigDict

from dataforge.core.errors import ForgeError
from dataforge.core.spec import SpecModel
from dataforge.structs import Struct


@dataclass(frozen=True, slots=True)
class Verdict:
    """One verifier's judgement of one candidate.

    Args:
        score: higher is better; rule-based verifiers give 1.0 (pass) or 0.0, or the passing share
            (IFEval constraint sets); the judge gives its score scaled to [0, 1].
        passed: whether the candidate counts as correct (what "passing" selection policies keep).
        reason: a short snake_case reason, optionally followed by `: detail`.
    """

    score: float
    passed: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"score": self.score, "passed": self.passed, "reason": self.reason}


PASS = "pass"


def verdict(passed: bool, reason: str) -> Verdict:
    return Verdict(1.0 if passed else 0.0, passed, reason)


class Verifier(SpecModel):
    """Base of every verifier: a frozen config with one method, `verify(value) -> Verdict`.

    Subclasses set `kind` and implement `verify`; `verify_batch` exists for verifiers that call the
    model (the judge) and gets the engine context (batched, cached calls; seeds per item key).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)
    kind: ClassVar[str] = "verifier"
    calls_llm: ClassVar[bool] = False

    def fields(self) -> list[str]:
        """The struct fields this verifier reads (checked against a node's output when a graph is built)."""
        return []

    def verify(self, value: Struct) -> Verdict:
        raise NotImplementedError

    def verify_batch(self, keys: Sequence[str], values: Sequence[Struct], ctx: Any = None,
                     node: str = "verify") -> list[Verdict]:
        """Verdicts for several candidates; `keys` give each its own call seed (model-based verifiers)."""
        return [self.verify(v) for v in values]

    def check_struct(self, output: type[Struct], where: str) -> None:
        missing = [f for f in self.fields() if f not in output.model_fields]
        if missing:
            raise ForgeError(f"{where}: verifier {self.kind} reads field(s) {missing}, which "
                             f"{output.__name__} does not have (fields: {sorted(output.model_fields)})")

    def describe(self) -> dict[str, Any]:
        """This verifier as JSON for manifests and lineage."""
        return {"kind": self.kind, **self.model_dump(mode="json")}


def read_text(value: Struct, name: str) -> str:
    """A field of `value` as text (None -> "")."""
    got = getattr(value, name)
    return "" if got is None else str(got)
