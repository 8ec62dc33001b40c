"""Stop a diverged run: the first non-finite loss or gradient norm ends it, and no non-finite model is exported.

The decision is taken on values every rank holds identically (the loss after its all-reduce, and a
non-finite-norm flag summed over ranks in the same all-reduce), so every rank raises at the same step
and none is left waiting in a collective. The step's weights are already updated, so the step is
neither logged nor checkpointed; checkpoints written before it stay, for `--resume`.
"""

from __future__ import annotations

import math
from typing import Any

from training.failure import CollectiveError


def check_step(step: int, stage: str, loss: float, norm: float | None, norm_bad: bool, lr: float,
               peak_lr: float) -> None:
    """Raise CollectiveError naming the step and stage when the loss or the gradient norm is not finite."""
    if math.isfinite(loss) and not norm_bad:
        return
    what = f"loss is {loss}" if not math.isfinite(loss) else f"gradient norm is {norm}"
    raise CollectiveError(
        f"step {step} of stage {stage!r}: {what}; the run diverged (lr {lr:.3g} at this step): lower "
        f"run.optimizer.lr ({peak_lr:g}) or lengthen run.schedule.warmup; checkpoints before this step are "
        "kept, --resume continues from the latest")


def nonfinite_param(state: dict[str, Any]) -> str | None:
    """The first parameter of a state dict holding NaN or inf, or None."""
    import torch

    for name, t in state.items():
        if torch.is_tensor(t) and t.is_floating_point() and not bool(torch.isfinite(t).all()):
            return name
    return None


def refuse_export(name: str, out) -> CollectiveError:
    return CollectiveError(f"{out}: refused to export the model: parameter {name!r} holds NaN or inf; "
                           "the weights diverged, resume from an earlier checkpoint with a lower run.optimizer.lr")
