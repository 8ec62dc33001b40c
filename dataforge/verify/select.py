"""Selection policies over scored candidates: which of n answers a best-of-n node keeps, or which pair.

Pure functions of the candidates (index, answer text, verdict, whether it parsed), so a policy is
tested without a model. Ties break toward the lower candidate index, so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dataforge.verify.base import Verdict
from dataforge.verify.match import normalize

# best: the highest score, if it passes. first: the first passing candidate (later ones are not drawn).
# all: every passing candidate. best_worst: (highest, lowest) score. pass_fail: (best passing, worst failing).
POLICIES = ("best", "first", "all", "best_worst", "pass_fail")
PAIR_POLICIES = ("best_worst", "pass_fail")


@dataclass(slots=True)
class Candidate:
    """One drawn answer and its verdict.

    Args:
        index: its number among the n drawn for the input (0-based; its call seed derives from it).
        text: the answer text (compared for the `equal_answers` drop).
        verdict: the verifier's score, pass and reason (an unparseable reply: score 0, not passing).
        parsed: whether the reply parsed into the node's output (only parsed candidates are selected).
        info: lineage extras (seed, finish reason, tokens).
    """

    index: int
    text: str
    verdict: Verdict
    parsed: bool = True
    info: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "text": self.text, **self.verdict.to_json(), "parsed": self.parsed,
                **(self.info or {})}


@dataclass(slots=True)
class Selection:
    """What a policy kept: candidate indices (for pairs: [chosen, rejected]), or a drop reason."""

    kept: list[int]
    drop: str | None = None
    detail: str = ""


def _best(cands: Sequence[Candidate]) -> Candidate:
    return max(cands, key=lambda c: (c.verdict.score, -c.index))


def _worst(cands: Sequence[Candidate]) -> Candidate:
    return min(cands, key=lambda c: (c.verdict.score, c.index))


def _pair(chosen: Candidate, rejected: Candidate, margin: float) -> Selection:
    gap = chosen.verdict.score - rejected.verdict.score
    if gap <= margin:
        return Selection([], "no_preference", f"score gap {gap:g} <= margin {margin:g} (candidates "
                                              f"{chosen.index} and {rejected.index})")
    if normalize(chosen.text, casefold=True) == normalize(rejected.text, casefold=True):
        return Selection([], "equal_answers", f"candidates {chosen.index} and {rejected.index} give the same answer")
    return Selection([chosen.index, rejected.index])


def select(policy: str, candidates: Sequence[Candidate], margin: float = 0.0) -> Selection:
    """Apply `policy` (one of POLICIES) to the candidates of one input.

    Drop reasons: `no_parseable_candidate`, `none_passed`, `too_few_candidates`, `no_passing`,
    `no_failing`, `no_preference` (score gap at most `margin`), `equal_answers`.

    Example:
        select("best_worst", cands).kept  # [chosen index, rejected index]
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; use one of {list(POLICIES)}")
    parsed = [c for c in candidates if c.parsed]
    if not parsed:
        return Selection([], "no_parseable_candidate", f"none of {len(candidates)} replies parsed")
    passing = [c for c in parsed if c.verdict.passed]
    if policy in ("best", "first", "all"):
        if not passing:
            best = _best(parsed)
            return Selection([], "none_passed", f"{len(parsed)} candidates; best {best.index}: {best.verdict.reason}")
        if policy == "best":
            return Selection([_best(passing).index])
        if policy == "first":
            return Selection([min(c.index for c in passing)])
        return Selection([c.index for c in passing])
    if policy == "best_worst":
        if len(parsed) < 2:
            return Selection([], "too_few_candidates", f"{len(parsed)} parsed candidate(s); a pair needs 2")
        return _pair(_best(parsed), _worst(parsed), margin)
    failing = [c for c in parsed if not c.verdict.passed]
    if not passing:
        return Selection([], "no_passing", f"none of {len(parsed)} candidates passed")
    if not failing:
        return Selection([], "no_failing", f"all {len(parsed)} candidates passed")
    return _pair(_best(passing), _worst(failing), margin)
