"""Per-stage optimization: learning-rate curves, per-stage settings, AdamW parameter groups.

A curve is a function of progress through a span of tokens (one stage, or the stages the run-level
schedule covers): linear warmup from 0, then a shape. The learning rate is taken at the middle of
each step, so no step trains at exactly zero unless a shape's level is 0 for the whole step.

    StageOptim(lr=1e-5, warmup=0.03, kind="cosine", min_lr_ratio=0.1, weight_decay=0.0)
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from training.specbase import _Spec

SHAPES = ("wsd", "cosine", "linear", "constant", "multi_step")
Shape = Literal["wsd", "cosine", "linear", "constant", "multi_step"]
NoDecay = Literal["embeddings", "norms", "biases"]
NO_DECAY: tuple[NoDecay, ...] = ("embeddings", "norms", "biases")


class LrShape(_Spec):
    """The fields a learning-rate shape needs (shared by the run's `Schedule` and `StageOptim`).

    Args:
        min_lr_ratio: the floor as a fraction of the peak (linear, cosine and wsd end there).
        fractions: `multi_step` only: the share of the span each plateau lasts (sums to 1);
            DeepSeek's 80/10/10 by default, 70/15/15 is worth a try.
        levels: `multi_step` only: each plateau's rate as a fraction of the peak (default: geometric
            from 1 down to `min_lr_ratio`, or to 0.1 when it is 0: 1, 0.316, 0.1).
    """

    min_lr_ratio: float = Field(0.0, ge=0, le=1)
    fractions: tuple[float, ...] = (0.8, 0.1, 0.1)
    levels: tuple[float, ...] | None = None

    @model_validator(mode="after")
    def _multi_step(self) -> LrShape:
        if not self.fractions or any(not (math.isfinite(f) and f > 0) for f in self.fractions) \
                or abs(sum(self.fractions) - 1.0) > 1e-6:
            raise ValueError(f"fractions: each > 0 and together 1 (got {list(self.fractions)})")
        if self.levels is not None:
            if len(self.levels) != len(self.fractions):
                raise ValueError(f"levels: one per fraction ({len(self.fractions)}), got {len(self.levels)}")
            if any(not (math.isfinite(v) and 0 <= v <= 1) for v in self.levels):
                raise ValueError(f"levels: each in [0, 1] (got {list(self.levels)})")
        return self

    def plateau_levels(self) -> tuple[float, ...]:
        if self.levels is not None:
            return self.levels
        n, last = len(self.fractions), self.min_lr_ratio or 0.1
        return tuple(last ** (i / (n - 1)) if n > 1 else 1.0 for i in range(n))


class StageOptim(LrShape):
    """One stage's own optimization: its learning-rate curve spans this stage only.

    Args:
        lr: the stage's peak learning rate (None: `run.optimizer.lr`).
        warmup: fraction of the stage's tokens spent warming up linearly from 0.
        kind: the shape after warmup: `constant`, `linear` or `cosine` (to the floor), `wsd` (hold,
            then linear to the floor over the last `decay_fraction`), `multi_step` (plateaus).
        decay_fraction: `wsd` only: the share of the stage spent decaying.
        weight_decay: AdamW weight decay in this stage (None: `run.optimizer.weight_decay`).
        reset_optimizer: clear AdamW's moments when the stage starts (e.g. SFT after pretraining).
    Example:
        stage_optim={"sft": StageOptim(lr=1e-5, warmup=0.03, kind="cosine", min_lr_ratio=0.1,
                                       reset_optimizer=True)}
    """

    lr: float | None = Field(None, gt=0, allow_inf_nan=False)
    warmup: float = Field(0.0, ge=0, lt=1)
    kind: Shape = "constant"
    decay_fraction: float = Field(0.2, gt=0, le=1)
    weight_decay: float | None = Field(None, ge=0, allow_inf_nan=False)
    reset_optimizer: bool = False
    WHERE: ClassVar[str] = "run.stage_optim"


def curve(shape: LrShape, kind: str, p: float, decay_fraction: float = 0.2) -> float:
    """The rate as a fraction of the peak at progress `p` (0..1) after warmup."""
    p = min(max(p, 0.0), 1.0)
    floor = shape.min_lr_ratio
    if kind == "constant":
        return 1.0
    if kind == "linear":
        return floor + (1.0 - floor) * (1.0 - p)
    if kind == "cosine":
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * p))
    if kind == "wsd":
        start = 1.0 - decay_fraction
        return 1.0 if p <= start else floor + (1.0 - floor) * (1.0 - (p - start) / decay_fraction)
    if kind == "multi_step":
        edge = 0.0
        for frac, level in zip(shape.fractions, shape.plateau_levels(), strict=True):
            edge += frac
            if p < edge:
                return level
        return shape.plateau_levels()[-1]
    raise ValueError(f"unknown learning-rate shape {kind!r}; one of {', '.join(SHAPES)}")


def warmup_then(shape: LrShape, kind: str, peak: float, warmup: float, done: float, total: float,
                decay_fraction: float = 0.2) -> float:
    """`peak` x warmup (linear from 0 over `warmup` x `total` tokens), then `curve` over the rest."""
    warm = warmup * total
    if done < warm:
        return peak * done / warm
    span = total - warm
    return peak * curve(shape, kind, (done - warm) / span if span > 0 else 1.0, decay_fraction)


def stage_lr(spec: StageOptim, base_lr: float, done: float, total: float) -> float:
    """A stage's own learning rate after `done` of its `total` tokens."""
    return warmup_then(spec, spec.kind, spec.lr or base_lr, spec.warmup, done, total, spec.decay_fraction)


def param_groups(model, weight_decay: float, no_decay: tuple[str, ...] = NO_DECAY) -> list[dict]:
    """AdamW groups: decayed weights, and the embeddings, norms and biases left undecayed.

    Embeddings are found by module type (a tied output head is the same tensor, so undecayed too),
    norms by their class name (`LlamaRMSNorm`, `LayerNorm`...), biases by parameter name. Each group
    carries `forge_decay` so a stage can change the decayed group's weight decay.
    """
    from torch import nn

    skip: set[int] = set()
    for module in model.modules():
        norm = "norm" in type(module).__name__.lower()
        emb = isinstance(module, nn.Embedding)
        for name, p in module.named_parameters(recurse=False):
            if ("embeddings" in no_decay and emb) or ("norms" in no_decay and norm) \
                    or ("biases" in no_decay and name == "bias"):
                skip.add(id(p))
    decay, plain, seen = [], [], set()
    for p in model.parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            (plain if id(p) in skip else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay, "forge_decay": True},
            {"params": plain, "weight_decay": 0.0, "forge_decay": False}]


def apply_hparams(optimizer, lr: float, weight_decay: float) -> None:
    """Set the step's learning rate on every group and the stage's weight decay on decayed ones."""
    for group in optimizer.param_groups:
        group["lr"] = lr
        if group.get("forge_decay"):
            group["weight_decay"] = weight_decay


def reset_state(optimizer) -> None:
    """Forget AdamW's moments and step counts; the next step starts them afresh (as a new run would).

    The torch optimizer is the one DeepSpeed wraps (ZeRO 1-2 and bf16 keep their fp32 partitions in
    its state), so clearing it resets every rank's shard.
    """
    optimizer.state.clear()
