"""Everything a run builds before its first step: DeepSpeed config, AdamW groups, the engine."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dataforge.core.errors import SpecError
from training.dspaths import confine
from training.spec import Run


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def precision(run: Run, device_type: str) -> str:
    """bf16 on GPU and fp32 on CPU unless the spec insists."""
    if run.deepspeed.precision != "auto":
        return run.deepspeed.precision
    return "bf16" if device_type == "cuda" else "fp32"


def user_config(run: Run, run_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """`run.deepspeed.config` with its output paths inside `run_dir` (and env vars for wandb/comet);
    a one-line SpecError naming the field otherwise. Cheap: checked before any process group exists."""
    try:
        return confine(run.deepspeed.config, run_dir)
    except ValueError as e:
        raise SpecError(str(e)) from None


def deepspeed_config(run: Run, device_type: str, run_dir: Path) -> dict[str, Any]:
    """The DeepSpeed config the spec implies; `run.deepspeed.config` (confined to `run_dir`) is merged over it."""
    ds = run.deepspeed
    config: dict[str, Any] = {
        "train_micro_batch_size_per_gpu": ds.micro_batch_size,
        "gradient_accumulation_steps": ds.grad_accum,
        "gradient_clipping": ds.grad_clip,
        "zero_optimization": {"stage": ds.zero_stage},
        # The optimizer is torch's AdamW (fused on GPU), given to DeepSpeed as a client optimizer.
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 1 << 30,
        "wall_clock_breakdown": False,
    }
    if precision(run, device_type) == "bf16":
        config["bf16"] = {"enabled": True}
    if ds.zero_stage == 3:
        config["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] = True
    return _merge(config, user_config(run, run_dir)[0])


def adamw(model, run: Run, device_type: str):
    """AdamW with no weight decay on embeddings, norms and biases by default (`optimizer.no_decay`)."""
    import torch

    from training.optim import param_groups

    opt = run.optimizer
    return torch.optim.AdamW(param_groups(model, opt.weight_decay, opt.no_decay), lr=opt.lr, betas=opt.betas,
                             eps=opt.eps, fused=device_type == "cuda")


def initialize(wrapper, run: Run, device_type: str, run_dir: Path):
    """`deepspeed.initialize` on the wrapped model; returns (engine, the torch optimizer)."""
    import deepspeed

    optimizer = adamw(wrapper, run, device_type)
    os.environ.update(user_config(run, run_dir)[1])  # wandb / comet write under the run dir
    engine, *_ = deepspeed.initialize(model=wrapper, optimizer=optimizer,
                                      config=deepspeed_config(run, device_type, run_dir))
    return engine, optimizer


def set_lr(optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def grad_norm(engine) -> float | None:
    """The global gradient norm before clipping.

    ZeRO and the bf16 optimizer compute it while clipping; a plain fp32 engine (ZeRO-0) does not
    keep it, so it is computed here from the already all-reduced gradients.
    """
    import torch

    grads = [p.grad for p in engine.module.parameters() if p.grad is not None]
    if not grads:
        return None
    return float(torch.nn.utils.get_total_norm(grads, 2.0))
