"""Checkpoints: DeepSpeed state plus the loader state and mixture id, and the final HF export.

Layout under the run dir:
    checkpoints/step-00000010/      DeepSpeed tag (model, optimizer; client_state inside)
    checkpoints/step-00000010/client.json   the same client state as JSON, read before loading
    checkpoints/latest              the newest complete tag, written last

The JSON copy lets a resume refuse a mixture mismatch (or a changed batch shape) before any weight
is read, and lets `forge train trace` replay the packer from the nearest checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from dataforge.core.commit import atomic_dir, atomic_write_json, atomic_write_text
from dataforge.core.errors import ForgeError

CKPT_DIR = "checkpoints"
CLIENT = "client.json"


def tag_for(step: int) -> str:
    return f"step-{step:08d}"


def latest_tag(run_dir: Path) -> str | None:
    latest = run_dir / CKPT_DIR / "latest"
    if not latest.is_file():
        return None
    tag = latest.read_text().strip()
    return tag if (run_dir / CKPT_DIR / tag / CLIENT).is_file() else None


def read_client(run_dir: Path, tag: str) -> dict[str, Any]:
    return json.loads((run_dir / CKPT_DIR / tag / CLIENT).read_text())


def all_clients(run_dir: Path) -> list[dict[str, Any]]:
    """Client states of every complete checkpoint, oldest first (trace replays from one of them)."""
    root = run_dir / CKPT_DIR
    out = []
    for d in sorted(root.glob("step-*")) if root.is_dir() else []:
        if (d / CLIENT).is_file():
            out.append(json.loads((d / CLIENT).read_text()))
    return out


def check_resume(run_dir: Path, mixture_id: str, resume: bool) -> dict[str, Any] | None:
    """The client state to resume from, or None for a fresh run; refuses what cannot continue."""
    tag = latest_tag(run_dir)
    if not resume:
        if tag is not None:
            raise ForgeError(f"{run_dir}: already holds a run (checkpoint {tag}); pass --resume to continue it "
                             "or --out to start a new one")
        return None
    if tag is None:
        raise ForgeError(f"{run_dir}: no checkpoint to resume from; run without --resume to start")
    client = read_client(run_dir, tag)
    if client["mixture_id"] != mixture_id:
        raise ForgeError(f"{run_dir}: checkpoint {tag} was trained on mixture {client['mixture_id']}, the spec "
                         f"names mixture {mixture_id}; resume with the same mixture or start a new run with --out")
    return client


def save(engine, run_dir: Path, step: int, client: dict[str, Any], rank: int, keep: int) -> str:
    """Save a DeepSpeed checkpoint with `client` in its client_state; mark it latest once complete."""
    import torch.distributed as dist

    tag = tag_for(step)
    root = run_dir / CKPT_DIR
    engine.save_checkpoint(str(root), tag=tag, client_state={"forge": client}, save_latest=False)
    dist.barrier()
    if rank == 0:
        atomic_write_json(root / tag / CLIENT, client)
        atomic_write_text(root / "latest", tag)
        for old in sorted(root.glob("step-*"))[:-keep]:
            shutil.rmtree(old, ignore_errors=True)
    dist.barrier()
    return tag


def _weights_only_loads(engine) -> None:
    """Make DeepSpeed read checkpoint files with `torch.load(weights_only=True)`: tensors and plain
    containers only, never arbitrary pickled objects (its default engine unpickles anything)."""
    import torch
    from deepspeed.runtime.fp16.loss_scaler import DynamicLossScaler, LossScaler
    from deepspeed.runtime.zero.config import ZeroStageEnum
    from deepspeed.utils.tensor_fragment import fragment_address

    # The few plain DeepSpeed records its ZeRO optimizer states hold, and nothing else.
    allowed = [LossScaler, DynamicLossScaler, ZeroStageEnum, fragment_address]

    def load(path: str, map_location=None):
        try:
            with torch.serialization.safe_globals(allowed):
                return torch.load(path, map_location=map_location, weights_only=True)
        except Exception as e:
            why = str(e).split("Unsupported global: ")[-1].split(" was not")[0] if "Unsupported global" in str(e) \
                else type(e).__name__
            raise ForgeError(f"{path}: refused to unpickle it ({why}); only tensors and plain containers are loaded. "
                             "Was it written by `forge train`? Remove it and resume from an earlier checkpoint") from e

    engine.checkpoint_engine.load = load


def load(engine, run_dir: Path, tag: str, optimizer: bool = True) -> dict[str, Any]:
    """Load model, optimizer and engine state of `tag` (only the weights without `optimizer`);
    returns the client state saved with it."""
    _weights_only_loads(engine)
    path, state = engine.load_checkpoint(str(run_dir / CKPT_DIR), tag=tag, load_optimizer_states=optimizer,
                                         load_lr_scheduler_states=False, load_module_only=not optimizer)
    if path is None:
        raise ForgeError(f"{run_dir / CKPT_DIR / tag}: DeepSpeed could not load this checkpoint; "
                         "is it complete? remove it and `latest` will point to the previous one")
    return state["forge"]


def export_hf(engine, wrapper, out: Path, tokenizer_path: str | Path, zero_stage: int, rank: int,
              device: str = "cpu") -> Path | None:
    """Save the final model as an HF folder (safetensors + config + tokenizer), rank 0 writes.

    Refuses (on every rank) to export weights holding NaN or inf; `device` is where collectives run.
    """
    import torch.distributed as dist
    from transformers import AutoTokenizer

    from training.distributed import all_sum
    from training.guard import nonfinite_param, refuse_export

    if zero_stage == 3:
        # Every rank takes part in gathering the partitioned weights; rank 0 receives them.
        state = engine._zero3_consolidated_16bit_state_dict()
    else:
        state = wrapper.state_dict() if rank == 0 else None
    prefix = "model."
    if rank == 0:
        state = {k[len(prefix):] if k.startswith(prefix) else k: v.detach().cpu().contiguous()
                 for k, v in state.items()}
    # rank 0 holds the whole state; the verdict goes to every rank so all of them stop together
    bad = nonfinite_param(state) if rank == 0 else None
    if all_sum([float(bad is not None)], device)[0]:
        raise refuse_export(bad or "?", out)
    if rank == 0:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        with atomic_dir(out, replace=True, locked=True) as tmp:  # inside the run dir rank 0 holds
            wrapper.model.save_pretrained(tmp, state_dict=state)
            AutoTokenizer.from_pretrained(str(tokenizer_path)).save_pretrained(tmp)
    dist.barrier()
    return out if rank == 0 else None
