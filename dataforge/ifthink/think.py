"""Think blocks: `<think>reasoning</think>` before an answer (think mode) or empty (no-think mode)."""

from __future__ import annotations

import re
from dataclasses import dataclass

OPEN, CLOSE = "<think>", "</think>"
_LEADING = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ThinkSplit:
    """An assistant message taken apart.

    Args:
        reasoning: the text inside the leading think block (None when there is no think block).
        answer: what follows the think block (the whole text when there is none); the part that
            instructions are checked on.
        well_formed: False for an unclosed `<think>` or think tags left in the answer.
    """

    reasoning: str | None
    answer: str
    well_formed: bool


def split_think(content: str) -> ThinkSplit:
    m = _LEADING.match(content)
    if m is None:
        reasoning, answer = None, content.strip()
    else:
        reasoning, answer = m.group(1).strip(), content[m.end():].strip()
    well_formed = OPEN not in answer and CLOSE not in answer
    return ThinkSplit(reasoning, answer, well_formed)


def answer_of(content: str) -> str:
    """The answer with the think block removed."""
    return split_think(content).answer


def with_think(answer: str, reasoning: str = "") -> str:
    """An assistant message: a think block (empty in no-think mode) then the answer."""
    inner = f"\n{reasoning.strip()}\n" if reasoning.strip() else "\n\n"
    return f"{OPEN}{inner}{CLOSE}\n\n{answer.strip()}"


def mode_problem(content: str, thinking: bool) -> str | None:
    """Why `content` does not fit its mode (a short reason), or None when it does."""
    split = split_think(content)
    if not split.well_formed:
        return "malformed_think"
    if thinking and not split.reasoning:
        return "missing_think"
    if not thinking and split.reasoning:
        return "nonempty_think"
    if not split.answer:
        return "empty_answer"
    return None
