"""The packed loader: a mixture version's stages, in order, as global batches of packed rows.

Every rank runs the same deterministic packer over the same piece lengths, so all ranks agree on
the global batch without talking; each then reads the tokens of its own rows from the memory-mapped
shards. Its state (packer position plus tokens consumed per source) is small, JSON-able, and goes
into every checkpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.masking import PackedRows, pack_rows
from training.packing import Packer, PackerState, StepPlan, best_fit_decreasing, cut_to_budget


def stage_lengths(stage) -> np.ndarray:
    """Token count of every piece of a stage, in the mixture's order."""
    lengths = getattr(stage, "lengths", None)  # the mixture's index has them: no shard is touched
    if lengths is not None:
        return np.asarray(lengths() if callable(lengths) else lengths, dtype=np.int64)
    n = stage.num_pieces
    return np.fromiter((len(stage.piece(i).tokens) for i in range(n)), dtype=np.int64, count=n)


def row_len(stage) -> int:
    """Tokens per packed row: seq_len, or twice it for a preference stage (a pair per two sequences)."""
    return int(stage.seq_len) * (2 if getattr(stage, "pairs", False) else 1)


def budget_lengths(stages) -> list[np.ndarray]:
    """Per stage, the lengths of the pieces it feeds: its index in order, cut at its token budget."""
    out = []
    for st in stages:
        full = stage_lengths(st)
        out.append(full[:cut_to_budget(full, int(st.tokens))])
    return out


@dataclass
class Batch:
    """One optimizer step as this rank sees it.

    Args:
        plan: the global step (all rows, as piece indices).
        micro: this rank's micro-batches, in order.
        loss_tokens: labelled tokens in the whole global batch (the loss normalizer).
        tokens_by_source: real tokens per source in the whole global batch.
    """

    plan: StepPlan
    stage_name: str
    sft: bool
    micro: list[PackedRows]
    loss_tokens: int
    tokens_by_source: dict[str, int]
    pairs: int = 0  # preference pairs in the whole global batch (a DPO stage's loss normalizer), else 0

    @property
    def padding_fraction(self) -> float:
        total = len(self.plan.rows) * self.plan.seq_len
        return 1.0 - self.plan.tokens / total if total else 0.0


class MixtureLoader:
    """Stream a mixture's stages as packed global batches; resumable from `state_dict()`.

    Args:
        mixture: an opened mixture (`mixtures.open_mixture`).
        micro_batch_size: rows per rank per micro-step.
        grad_accum: micro-steps per optimizer step.
        world, rank: data-parallel size and this process's rank.
        lookahead: packing window in global batches.
    Example:
        loader = MixtureLoader(open_mixture(mid), micro_batch_size=2, grad_accum=1)
        batch = loader.next_batch()
    """

    def __init__(self, mixture, micro_batch_size: int, grad_accum: int, world: int = 1, rank: int = 0,
                 lookahead: float = 2.0):
        if getattr(mixture, "verified", True) is False:
            from dataforge.core.errors import ForgeError

            # Training reads shards without hashing them again: it must start from a checked mixture.
            raise ForgeError(f"mixture {mixture.id}: opened with verify_files=False; open it with "
                             "mixtures.open_mixture(id) (which checks every shard against the id) to train on it")
        self.mixture = mixture
        self.stages = list(mixture.stages)
        self.world, self.rank, self.grad_accum = world, rank, grad_accum
        self.micro_batches = grad_accum * world
        self.lengths = lengths = budget_lengths(self.stages)
        # a preference stage packs whole pairs, each two sequences of at most seq_len, into rows of 2 x seq_len
        self.packer = Packer(lengths, [row_len(st) for st in self.stages],
                             rows=micro_batch_size * self.micro_batches, micro_batches=self.micro_batches,
                             lookahead=lookahead)
        self.tokens_by_source: dict[str, int] = {}

    # -- what the schedule and the progress bar need -----------------------------------------
    @property
    def stage_totals(self) -> list[int]:
        """Real tokens each stage will feed (its budget, cut at whole pieces)."""
        return [int(x.sum()) for x in self.lengths]

    @property
    def state(self) -> PackerState:
        return self.packer.state

    def next_batch(self) -> Batch | None:
        plan = self.packer.next_step()
        if plan is None:
            return None
        stage = self.stages[plan.stage]
        pieces = [[stage.piece(i) for i in row] for row in plan.rows]
        by_source: dict[str, int] = {}
        loss_tokens = 0
        for row in pieces:
            for p in row:
                by_source[p.source] = by_source.get(p.source, 0) + len(p.tokens)
                loss_tokens += _labelled(p)
        for src, n in by_source.items():
            self.tokens_by_source[src] = self.tokens_by_source.get(src, 0) + n
        per_micro = len(plan.rows) // self.micro_batches
        micro = []
        for g in range(self.grad_accum):
            j = self.rank * self.grad_accum + g  # rank-major: rank r owns micro-batches r*gas...
            rows = pieces[j * per_micro:(j + 1) * per_micro]
            micro.append(pack_rows([[d for p in row for d in _documents(p)] for row in rows], plan.seq_len))
        pairs = sum(len(row) for row in pieces) if getattr(stage, "pairs", False) else 0
        return Batch(plan=plan, stage_name=stage.name, sft=bool(stage.sft), micro=micro,
                     loss_tokens=loss_tokens, tokens_by_source=by_source, pairs=pairs)

    # -- checkpoint state ---------------------------------------------------------------------
    def state_dict(self) -> dict:
        s = self.packer.state
        stage = self.stages[min(s.stage, len(self.stages) - 1)]
        return {"packer": s.to_dict(), "stage_name": stage.name,
                "tokens_by_source": dict(sorted(self.tokens_by_source.items())),
                "rows": self.packer.rows, "micro_batches": self.micro_batches,
                "lookahead": self.packer.lookahead}

    def load_state_dict(self, state: dict) -> None:
        from dataforge.core.errors import ForgeError

        if state["rows"] != self.packer.rows:
            raise ForgeError(f"resume: the checkpoint's global batch is {state['rows']} rows, this run's is "
                             f"{self.packer.rows}; keep micro_batch_size x grad_accum x world size the same "
                             "(or start a new run)")
        if state["micro_batches"] != self.micro_batches or state["lookahead"] != self.packer.lookahead:
            raise ForgeError("resume: grad_accum x world size or pack_lookahead changed since the checkpoint; "
                             "restore them (or start a new run)")
        self.packer.state = PackerState.from_dict(state["packer"])
        self.tokens_by_source = {k: int(v) for k, v in state["tokens_by_source"].items()}


def _documents(piece) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """The documents of a piece as a row holds them: a preference pair is two, chosen then rejected, so in
    a packed row pair j is segments 2j + 1 and 2j + 2 (training/dpo.py relies on it)."""
    c = getattr(piece, "chosen_length", None)
    if c is None:
        return [(piece.tokens, piece.loss_mask)]
    return [(piece.tokens[:c], piece.loss_mask[:c]), (piece.tokens[c:], piece.loss_mask[c:])]


def _labelled(piece) -> int:
    if piece.loss_mask is None:
        return max(len(piece.tokens) - 1, 0)
    return sum(int(np.count_nonzero(np.asarray(m)[1:])) for _, m in _documents(piece))


def validation_rows(pieces: Sequence, seq_len: int, rows_per_micro: int, world: int, rank: int,
                    max_pieces: int) -> list[PackedRows]:
    """A source's held-out pieces packed into rows; this rank's share, in micro-batches.

    Every rank gets the same number of micro-batches (empty rows where it runs out), because under
    ZeRO-3 all ranks must run the same forward passes.
    """
    docs = []
    for p in pieces:
        if len(docs) >= max_pieces:
            break
        tokens, mask = _documents(p)[0]  # of a preference pair: the chosen sequence (its answer's loss)
        mask = None if mask is None else np.asarray(mask)[:seq_len]
        docs.append((np.asarray(tokens)[:seq_len], mask))
    bins, _ = best_fit_decreasing([(i, len(t)) for i, (t, _) in enumerate(docs)], seq_len, max(len(docs), 1))
    per_pass = rows_per_micro * world
    n_micro = max(1, -(-len(bins) // per_pass))
    out = []
    for m in range(n_micro):
        start = m * per_pass + rank * rows_per_micro
        mine = bins[start:start + rows_per_micro]
        out.append(pack_rows([[docs[i] for i in b] for b in mine], seq_len))
    return out
