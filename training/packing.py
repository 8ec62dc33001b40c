"""Best-fit-decreasing packing of mixture pieces into fixed-length rows, as a resumable stream.

The packer works on piece lengths only, so the same code plans a run (schedule preview, trace) and
feeds the loader, and its whole state is a few integers and a short list of carried-over pieces:
that state goes into every checkpoint, which is what makes a resumed run see exactly the batches an
uninterrupted one would.

Order: pieces are pulled in the mixture's (shuffled) order into a window of about `lookahead`
global batches; the window is packed best-fit decreasing, and what does not fit waits for the next
step, where it is placed first so no piece waits long.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np


def best_fit_decreasing(items: Sequence[tuple[int, int]], capacity: int, max_bins: int,
                        priority: Sequence[int] | None = None) -> tuple[list[list[int]], list[int]]:
    """Pack `(key, length)` items into at most `max_bins` bins of `capacity`.

    Items go in order of (priority, longest first); each lands in the fullest open bin it fits, or a
    new bin while fewer than `max_bins` are open. Returns the bins (keys, in placement order) and the
    keys that did not fit, in their input order.
    """
    order = sorted(range(len(items)),
                   key=lambda i: ((priority[i] if priority is not None else 0), -items[i][1], i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (remaining space, bin index), sorted: best fit is a bisect
    unplaced: list[int] = []
    for i in order:
        key, length = items[i]
        if length > capacity:
            raise ValueError(f"piece {key} has {length} tokens, more than the row length {capacity}")
        j = bisect.bisect_left(free, (length, -1))
        if j < len(free):
            space, b = free.pop(j)
            bins[b].append(key)
            bisect.insort(free, (space - length, b))
        elif len(bins) < max_bins:
            bins.append([key])
            bisect.insort(free, (capacity - length, len(bins) - 1))
        else:
            unplaced.append(i)
    return bins, [items[i][0] for i in sorted(unplaced)]


@dataclass
class PackerState:
    """Where the stream stands: stage, next piece to pull, carried-over pieces, tokens so far."""

    stage: int = 0
    next_piece: int = 0
    pending: list[int] = field(default_factory=list)
    step: int = 0
    stage_tokens: int = 0  # tokens of the current stage already packed into batches

    def to_dict(self) -> dict:
        return {"stage": self.stage, "next_piece": self.next_piece, "pending": list(self.pending),
                "step": self.step, "stage_tokens": self.stage_tokens}

    @classmethod
    def from_dict(cls, d: dict) -> PackerState:
        return cls(stage=int(d["stage"]), next_piece=int(d["next_piece"]),
                   pending=[int(x) for x in d["pending"]], step=int(d["step"]),
                   stage_tokens=int(d["stage_tokens"]))


@dataclass(frozen=True)
class StepPlan:
    """One optimizer step: the stage and its rows, each a list of piece indices within the stage."""

    step: int
    stage: int
    seq_len: int
    rows: list[list[int]]
    tokens: int  # real (non-padding) tokens in the step


class Packer:
    """Turn per-stage piece lengths into a stream of global batches.

    Args:
        lengths: per stage, the length of each piece in the mixture's order (already cut to the
            stage's token budget).
        seq_lens: per stage, the row length.
        rows: packed rows per global batch (micro batch x grad accum x world size).
        micro_batches: micro-batches per global batch (grad accum x world size); a stage's last,
            partial step keeps a multiple of this many rows so every rank does the same work.
        lookahead: window size in global batches (>= 1).
    Example:
        p = Packer([[5, 3, 8]], [8], rows=2, micro_batches=2); p.next_step().rows  # [[2], [0, 1]]
    """

    def __init__(self, lengths: Sequence[Sequence[int]], seq_lens: Sequence[int], rows: int,
                 micro_batches: int, lookahead: float = 2.0, state: PackerState | None = None):
        if rows % micro_batches:
            raise ValueError(f"rows ({rows}) must be a multiple of micro_batches ({micro_batches})")
        self.lengths, self.seq_lens = lengths, list(seq_lens)
        self.rows, self.micro_batches, self.lookahead = rows, micro_batches, lookahead
        self.state = state or PackerState()

    @property
    def done(self) -> bool:
        s = self.state
        return s.stage >= len(self.lengths)

    def _advance_stage_if_empty(self) -> None:
        s = self.state
        while s.stage < len(self.lengths) and s.next_piece >= len(self.lengths[s.stage]) and not s.pending:
            s.stage, s.next_piece, s.stage_tokens = s.stage + 1, 0, 0

    def next_step(self) -> StepPlan | None:
        """Pack the next global batch, or None when every stage is consumed."""
        self._advance_stage_if_empty()
        if self.done:
            return None
        s, lengths = self.state, self.lengths[self.state.stage]
        seq_len = self.seq_lens[s.stage]
        old = len(s.pending)
        window = list(s.pending)
        budget = self.lookahead * self.rows * seq_len
        have = sum(lengths[i] for i in window)
        while s.next_piece < len(lengths) and have < budget:
            window.append(s.next_piece)
            have += lengths[s.next_piece]
            s.next_piece += 1
        items = [(i, int(lengths[i])) for i in window]
        priority = [0] * old + [1] * (len(window) - old)  # carried-over pieces go first
        bins, left = best_fit_decreasing(items, seq_len, self.rows, priority)
        s.pending = left
        if s.next_piece < len(lengths) or left:
            n_rows = self.rows
        else:  # the stage's last step: as few rows as fit, rounded up so every micro-batch has rows
            n_rows = -(-len(bins) // self.micro_batches) * self.micro_batches
        bins += [[] for _ in range(n_rows - len(bins))]
        tokens = int(sum(lengths[i] for b in bins for i in b))
        plan = StepPlan(step=s.step, stage=s.stage, seq_len=seq_len, rows=bins, tokens=tokens)
        s.step += 1
        s.stage_tokens += tokens
        return plan

    def __iter__(self):
        while (plan := self.next_step()) is not None:
            yield plan


def cut_to_budget(lengths: Sequence[int], budget: int) -> int:
    """How many pieces, in order, a stage of `budget` tokens uses: until the budget is reached."""
    if budget <= 0:
        return 0
    total = np.cumsum(np.asarray(lengths, dtype=np.int64))  # in numpy: a stage may hold millions of pieces
    return min(int(np.searchsorted(total, budget, side="left")) + 1, len(total))
