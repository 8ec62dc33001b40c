"""Verify a finished conversation: every assistant turn against every constraint active in its turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dataforge.ifthink.constraints import Constraint
from dataforge.ifthink.think import answer_of, mode_problem


@dataclass(frozen=True, slots=True)
class TurnFailure:
    """One failed assistant turn: its number (1-based), and the failing instruction ids or a reason."""

    turn: int
    instruction_ids: tuple[str, ...] = ()
    reason: str = "constraint_failed"

    def to_json(self) -> dict[str, Any]:
        return {"turn": self.turn, "instruction_ids": list(self.instruction_ids), "reason": self.reason}


def active_constraints(per_turn: Sequence[Sequence[Constraint]], turn: int) -> list[Constraint]:
    """The constraints in force at user turn `turn` (1-based): all introduced so far."""
    return [c for new in per_turn[:turn] for c in new]


def verify_conversation(messages: Sequence[dict[str, str]], per_turn: Sequence[Sequence[Constraint]],
                        thinking: bool) -> list[TurnFailure]:
    """Failures of a conversation (empty: every turn passes every active constraint).

    Each assistant message must fit its mode (think: a non-empty think block; no-think: an empty
    one) and its answer, with the think block removed, must follow every active constraint.
    """
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    failures: list[TurnFailure] = []
    for turn, content in enumerate(answers, start=1):
        problem = mode_problem(content, thinking)
        if problem is not None:
            failures.append(TurnFailure(turn, reason=problem))
            continue
        answer = answer_of(content)
        failed = tuple(c.id for c in active_constraints(per_turn, turn) if not c.check(answer))
        if failed:
            failures.append(TurnFailure(turn, failed))
    if len(answers) < len(per_turn):
        failures.append(TurnFailure(len(answers) + 1, reason="missing_turn"))
    return failures
