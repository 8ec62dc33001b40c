"""A run's plan before training: steps, tokens and learning rate per stage (`forge train --plan`).

The packer runs on the mixture's piece lengths only (no shard is read, no model built), so the
steps are the ones training will take with the same global batch; the learning rates come from the
same schedule object the trainer builds (`run_schedule`), so the preview follows the schedule code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from training.spec import Run


def run_schedule(run: Run, stage_names: list[str], stage_tokens: list[int]):
    """The learning-rate schedule of `run` over a mixture's stages: the one place the trainer and the
    plan build it."""
    from training.schedule import StageSchedule

    return StageSchedule(run.schedule, run.optimizer.lr, stage_names, stage_tokens, run.stage_optim)


@dataclass
class RunPlan:
    """Per step (`steps`: step, stage, tokens, lr, padding) and per stage (`stages`) numbers of a run."""

    run: str
    mixture_id: str
    global_rows: int
    steps: list[dict[str, Any]]
    stages: list[dict[str, Any]]

    def chart(self, path: str | Path) -> Path:
        """PNG of the learning rate over steps, stage boundaries marked."""
        from dataforge.core.figures import pyplot, save_png

        plt = pyplot()
        fig, ax = plt.subplots(figsize=(8, 3.8))
        ax.plot([s["step"] for s in self.steps], [s["lr"] for s in self.steps], lw=1.4,
                marker="o" if len(self.steps) <= 200 else None, ms=3)  # few steps: show each one
        for st in self.stages:
            ax.axvline(st["first_step"] - 0.5, color="grey", ls=":", lw=1)
            ax.text(st["first_step"], 0, f" {st['stage']}", va="bottom", fontsize=8, color="grey")
        ax.set_xlabel("step")
        ax.set_ylabel("learning rate")
        ax.set_ylim(bottom=0)
        ax.set_title(f"{self.run} on mixture {self.mixture_id[:12]}: {len(self.steps)} steps of "
                     f"{self.global_rows} rows", fontsize=10)
        fig.tight_layout()
        return save_png(fig, path)


def plan_run(run: Run, world_size: int = 1) -> RunPlan:
    """Pack the run's mixture as the trainer would on `world_size` ranks and read the schedule per step.

    Example:
        p = plan_run(load_spec("train.py", "run", Run)); p.stages[-1]["lr_end"]
    """
    from mixtures import open_mixture
    from mixtures.identity import check_identity
    from training.loader import budget_lengths
    from training.packing import Packer

    # The manifest is checked against the id; shards are not hashed (no token is read from them).
    mx = open_mixture(run.mixture, registry=run.registry, verify_files=False)
    check_identity(mx.path, mx.manifest)
    stages = list(mx.stages)
    names = [st.name for st in stages]
    run.check_against(names)
    lengths = budget_lengths(stages)
    micro = run.deepspeed.grad_accum * world_size
    rows = run.deepspeed.micro_batch_size * micro
    packer = Packer(lengths, [int(st.seq_len) for st in stages], rows=rows, micro_batches=micro,
                    lookahead=run.pack_lookahead)
    plans = list(packer)
    schedule = run_schedule(run, names, [int(x.sum()) for x in lengths])
    steps = []
    for p, s in zip(plans, schedule.preview(plans), strict=True):
        capacity = len(p.rows) * p.seq_len
        steps.append({"step": p.step + 1, "stage": s["stage"], "tokens": p.tokens, "lr": s["lr"],
                      "padding": 1.0 - p.tokens / capacity if capacity else 0.0})
    per_stage = []
    for i, name in enumerate(names):
        mine = [s for s in steps if s["stage"] == name]
        if not mine:
            continue
        cap = sum(len(p.rows) * p.seq_len for p in plans if p.stage == i)
        tokens = sum(s["tokens"] for s in mine)
        per_stage.append({"stage": name, "steps": len(mine), "first_step": mine[0]["step"],
                          "last_step": mine[-1]["step"], "tokens": tokens, "seq_len": int(stages[i].seq_len),
                          "lr_start": mine[0]["lr"], "lr_end": mine[-1]["lr"],
                          "lr_max": max(s["lr"] for s in mine), "padding": 1.0 - tokens / cap if cap else 0.0})
    return RunPlan(run.name, mx.id, rows, steps, per_stage)
