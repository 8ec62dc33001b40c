"""OLMo 2 style repetition filter: drop documents in which a short token span repeats many times in a row."""

from __future__ import annotations

import numpy as np
from pydantic import Field, PrivateAttr, model_validator

from curation.steps.base import Doc, RecordStep
from curation.text import TokenHasher, words


def longest_repeat(token_hashes: np.ndarray, min_period: int = 1, max_period: int = 13) -> tuple[int, int]:
    """(repeats, period) of the longest run in which a span of `period` tokens repeats back to back.

    A span of p tokens repeated k times covers p*k tokens and makes tok[i] == tok[i+p] hold for
    p*(k-1) consecutive positions, so each period is one vectorized comparison and a run length.
    """
    best = (1, 0)
    n = len(token_hashes)
    for p in range(min_period, min(max_period, n - 1) + 1):
        eq = token_hashes[p:] == token_hashes[:-p]
        if not eq.any():
            continue
        padded = np.concatenate(([False], eq, [False]))
        edges = np.flatnonzero(padded[1:] != padded[:-1])
        run = int((edges[1::2] - edges[::2]).max())
        repeats = run // p + 1
        if repeats > best[0]:
            best = (repeats, p)
    return best


class RepetitionFilter(RecordStep):
    """Drop documents where a span of `min_period`..`max_period` tokens repeats `max_repeats` times or more.

    Args:
        min_period, max_period: span lengths in word tokens (OLMo 2: 1 to 13).
        max_repeats: consecutive repetitions that condemn a document (OLMo 2: 32).
    Example:
        RepetitionFilter(max_repeats=32)   # drops "buy now " * 40
    """

    min_period: int = Field(1, ge=1)
    max_period: int = Field(13, ge=1)
    max_repeats: int = Field(32, ge=2)
    _hasher: TokenHasher | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _order(self):
        if self.max_period < self.min_period:
            raise ValueError("max_period must be >= min_period")
        return self

    def open(self) -> None:
        self._hasher = TokenHasher()

    def judge(self, doc: Doc) -> str | None:
        hasher = self._hasher or TokenHasher()
        toks = hasher.hashes(words(doc.text))
        if len(toks) < self.max_repeats * self.min_period:
            return None
        repeats, _ = longest_repeat(toks, self.min_period, self.max_period)
        return "repeated_span" if repeats >= self.max_repeats else None
