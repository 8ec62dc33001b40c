"""Constraints (an instruction id plus its arguments) and the public `check` function."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import model_validator

from dataforge.core.spec import SpecModel
from dataforge.ifthink.base import REGISTRY, get


def check(instruction_id: str, kwargs: dict[str, Any] | None, response: str, *, strict: bool = False) -> bool:
    """Does `response` follow the IFEval instruction `instruction_id` with arguments `kwargs`?

    By default the verdict is the reference IFEval checker's (google-research instruction_following_eval,
    the one lm-evaluation-harness runs, "strict" accuracy). `strict=True` applies DataForge's stricter
    rules instead; docs/ifthink.md lists every difference. Deterministic and offline (no network, no
    downloaded NLTK data). Unknown ids or bad arguments raise a one-line ForgeError; arguments IFEval's
    data lists as null are ignored.

    Example:
        check("length_constraints:number_words", {"relation": "less than", "num_words": 5}, "Hi there.")
    """
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    instruction = get(instruction_id)
    return instruction.judge(instruction.validate(kwargs), response, strict)


class Constraint(SpecModel):
    """One verifiable instruction with its arguments, validated on construction.

    Args:
        id: an IFEval instruction id, e.g. "detectable_format:title".
        kwargs: its arguments under IFEval's names, e.g. {"relation": "at least", "num_words": 50}.
    Example:
        c = Constraint(id="punctuation:no_comma"); c.describe(); c.check("No commas here.")
    """

    id: str
    kwargs: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _validate(cls, data: Any) -> Any:
        # Normalized before construction, so the model stays frozen. ForgeError is not a ValueError,
        # so pydantic lets it through as the one-line message it is.
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            return {**data, "kwargs": get(data["id"]).validate(dict(data.get("kwargs") or {}))}
        return data

    def describe(self, variant: int = 0) -> str:
        """The constraint as natural-language text for a user turn."""
        return REGISTRY[self.id].describe(self.kwargs, variant)

    def check(self, response: str, strict: bool = True) -> bool:
        """Strict by default: data DataForge generates keeps to the stricter rules (they imply the reference's)."""
        return REGISTRY[self.id].judge(self.kwargs, response, strict)


def failing(constraints: Iterable[Constraint], response: str, strict: bool = True) -> list[str]:
    """Ids of the constraints `response` does not follow, in the given order."""
    return [c.id for c in constraints if not c.check(response, strict)]
