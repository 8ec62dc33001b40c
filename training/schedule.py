"""Learning-rate schedules whose phase boundaries are the mixture's stage boundaries.

The learning rate of a step is a function of where the data stands: which stage the step's batch
comes from and how far into that stage the middle of the step's tokens lies. The WSD decay
therefore starts on the very step the loader switches to the decay stage and ends on the run's last
step (half a step's worth above its floor, so no step trains at a zero rate), with no step number
typed anywhere. Because it depends only on the loader state, a resumed run recomputes exactly the
same learning rates.

A stage with its own `run.stage_optim` entry follows its own curve (training/optim.py) and is left
out of the run-level schedule, whose warmup, WSD decay and whole-span shapes cover the other stages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from training.optim import StageOptim, curve, stage_lr
from training.spec import Schedule


@dataclass(frozen=True)
class StageSchedule:
    """A schedule bound to one mixture: its stage names and real token totals.

    Args:
        spec: the run's schedule.
        peak_lr: the optimizer's learning rate.
        stage_names: the mixture's stages, in order.
        stage_tokens: real tokens each stage feeds (the loader's `stage_totals`).
        stage_optim: stages with their own settings, by name (`run.stage_optim`).
    Example:
        s = StageSchedule(Schedule(kind="wsd"), 1e-3, ["stable", "decay"], [8000, 2000])
        s.lr(stage=1, stage_tokens_done=2000)  # the floor, at the very end of the decay stage
    """

    spec: Schedule
    peak_lr: float
    stage_names: Sequence[str]
    stage_tokens: Sequence[int]
    stage_optim: Mapping[str, StageOptim] = field(default_factory=dict)

    @property
    def covered(self) -> list[int]:
        """The stages the run-level schedule drives (those without their own settings)."""
        return [i for i, n in enumerate(self.stage_names) if n not in self.stage_optim]

    @property
    def decay_stages(self) -> list[int]:
        if self.spec.kind != "wsd" or not self.covered:
            return []
        names = self.spec.decay_stages or [self.stage_names[self.covered[-1]]]
        return sorted(self.stage_names.index(n) for n in names)

    def boundaries(self) -> dict[str, float]:
        """Phase boundaries in tokens from the start of the run (for docs, run.json and plots)."""
        starts = [sum(self.stage_tokens[:i]) for i in range(len(self.stage_tokens))]
        out: dict[str, float] = {}
        if self.covered:
            first = self.covered[0]
            out["warmup_end"] = starts[first] + self.spec.warmup * self.stage_tokens[first]
        if self.decay_stages:
            out["decay_start"] = starts[self.decay_stages[0]]
        out["end"] = sum(self.stage_tokens)
        return out

    def lr(self, stage: int, stage_tokens_done: float) -> float:
        """The learning rate at the point where `stage_tokens_done` tokens of `stage` are consumed.

        The trainer asks for the middle of each step: the tokens before it plus half of its own.
        """
        own = self.stage_optim.get(self.stage_names[stage])
        if own is not None:
            return stage_lr(own, self.peak_lr, stage_tokens_done, self.stage_tokens[stage])
        covered = self.covered
        floor = self.peak_lr * self.spec.min_lr_ratio
        done = sum(self.stage_tokens[i] for i in covered if i < stage) + stage_tokens_done
        warm = self.spec.warmup * self.stage_tokens[covered[0]]
        if done < warm:
            return self.peak_lr * done / warm
        if self.spec.kind != "wsd":  # one shape over every covered stage
            span = sum(self.stage_tokens[i] for i in covered) - warm
            return self.peak_lr * curve(self.spec, self.spec.kind, (done - warm) / span if span > 0 else 1.0)
        decay = self.decay_stages
        if stage not in decay:
            # a stage after the decay trains at the floor (Run.check_against refuses a floor of 0 there)
            return floor if decay and stage > decay[-1] else self.peak_lr
        decay_total = sum(self.stage_tokens[i] for i in decay)
        decay_done = sum(self.stage_tokens[i] for i in decay if i < stage) + stage_tokens_done
        p = min(decay_done / decay_total, 1.0) if decay_total else 1.0
        return floor + (self.peak_lr - floor) * (1.0 - p)

    def preview(self, plans) -> list[dict]:
        """lr per step for a sequence of `StepPlan`s (the packer run on lengths only)."""
        out, done, stage = [], 0, -1
        for plan in plans:
            if plan.stage != stage:
                stage, done = plan.stage, 0
            out.append({"step": plan.step, "stage": self.stage_names[plan.stage],
                        "lr": self.lr(stage, done + plan.tokens / 2)})
            done += plan.tokens
        return out
