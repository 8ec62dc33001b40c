"""The thin DeepSpeed trainer: reads a versioned mixture, follows its stages, traces every step.

    from training import Run, Model, DeepSpeed, Optimizer, Schedule, StageOptim, StartFrom, GenEval
    run = Run(name="tiny", mixture="3f2a...", model=Model(config={"model_type": "llama", ...}),
              stage_optim={"sft": StageOptim(lr=1e-5, kind="cosine", reset_optimizer=True)})

DeepSpeed does the distributed work; this package does the data and the schedule: packed batches
with document masking, stage boundaries taken from the mixture, exact resume and trace.
Heavy imports (torch, deepspeed, transformers) happen inside the functions that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from training.evals import GenEval, exact_match
from training.init import StartFrom
from training.metrics import MetricsLog, flops_per_token
from training.optim import StageOptim
from training.packing import Packer, PackerState, StepPlan, best_fit_decreasing
from training.plot import plot_loss
from training.schedule import StageSchedule
from training.spec import DPO, DeepSpeed, Model, Optimizer, Run, Schedule

if TYPE_CHECKING:
    from training.engine import Trainer, TrainResult
    from training.loader import MixtureLoader

__all__ = [
    "DPO", "DeepSpeed", "GenEval", "MetricsLog", "MixtureLoader", "Model", "Optimizer", "Packer", "PackerState",
    "Run", "Schedule", "StageOptim", "StageSchedule", "StartFrom", "StepPlan", "TrainResult", "Trainer",
    "best_fit_decreasing", "exact_match", "flops_per_token", "plot_loss", "trace",
]


def __getattr__(name: str):
    # torch-heavy modules load on first use, so `import training` (spec files) stays cheap
    if name in ("Trainer", "TrainResult"):
        from training import engine

        return getattr(engine, name)
    if name == "MixtureLoader":
        from training.loader import MixtureLoader

        return MixtureLoader
    if name == "trace":
        from training.trace import trace

        return trace
    raise AttributeError(f"module 'training' has no attribute {name!r}")
