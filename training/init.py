"""Continue from a run: start from another run's checkpoint or exported model, on a new mixture.

    Run(..., start_from=StartFrom(run="runs/pretrain"))                            # weights only
    Run(..., start_from=StartFrom(run="runs/pretrain", optimizer_state=True))      # + AdamW moments
    Run(..., start_from=StartFrom(run="runs/pretrain", checkpoint="model"))        # its exported model

Everything that can refuse is checked before DeepSpeed starts; what was loaded goes into run.json
and the run's manifest (the source run's manifest id becomes a parent, next to the mixture id).
The source's loader state is not used: the new run starts at the first step of its own mixture.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import model_validator

from dataforge.core.errors import ForgeError
from training.specbase import _Spec


class StartFrom(_Spec):
    """Where a run's weights (and optionally optimizer state) come from.

    Args:
        run: another run's directory.
        checkpoint: a step of that run's checkpoints, `latest`, or `model` (its exported HF model).
        optimizer_state: also load AdamW's moments (checkpoints only; same ZeRO stage and world size).
    Example:
        StartFrom(run="runs/pretrain", checkpoint=400, optimizer_state=True)
    """

    run: str
    checkpoint: int | Literal["latest", "model"] = "latest"
    optimizer_state: bool = False
    WHERE: ClassVar[str] = "run.start_from"

    @model_validator(mode="after")
    def _model_has_no_optimizer(self) -> StartFrom:
        if self.checkpoint == "model" and self.optimizer_state:
            raise ValueError("optimizer_state: an exported model has no optimizer state; start from a checkpoint")
        if isinstance(self.checkpoint, int) and self.checkpoint < 0:
            raise ValueError(f"checkpoint: a step >= 0, 'latest' or 'model' (got {self.checkpoint})")
        return self


def _manifest_id(run_dir: Path) -> str | None:
    path = run_dir / "manifest.json"
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return data.get("id") if data.get("kind") == "run" else None


def resolve(run, out: Path) -> dict[str, Any] | None:
    """The source a run starts from, checked; None for a fresh start.

    Also recognizes `Model(checkpoint=RUN/model)`, so a run continued from an exported model names
    its source run either way. Refuses in one line before any process group exists.
    """
    from training import checkpoint as ckpt

    start = run.start_from
    if start is None:
        ckp = run.model.checkpoint
        src = Path(ckp).expanduser().absolute().parent if ckp else None
        if src is None or not (src / "run.json").is_file():
            return None
        return {"run": str(src), "checkpoint": "model", "step": None, "optimizer_state": False,
                "run_id": _manifest_id(src), "via": "model.checkpoint"}
    src = Path(start.run).expanduser().absolute()
    where = f"run.start_from.run {start.run!r}"
    if src == Path(out).absolute():
        raise ForgeError(f"{where}: is this run's own --out; pass --resume to continue it")
    if not (src / "run.json").is_file():
        raise ForgeError(f"{where}: not a run directory (no run.json); give the --out of a `forge train` run")
    source = json.loads((src / "run.json").read_text())
    info = {"run": str(src), "optimizer_state": start.optimizer_state, "run_id": _manifest_id(src),
            "mixture_id": source.get("mixture_id")}
    if start.checkpoint == "model":
        if not (src / "model" / "config.json").is_file():
            raise ForgeError(f"{where}: has no exported model/ yet; start from a checkpoint or let that run finish")
        return {**info, "checkpoint": "model", "step": None}
    tag = ckpt.latest_tag(src) if start.checkpoint == "latest" else ckpt.tag_for(start.checkpoint)
    if tag is None or not (src / ckpt.CKPT_DIR / tag / ckpt.CLIENT).is_file():
        have = ", ".join(str(c["step"]) for c in ckpt.all_clients(src)) or "none"
        raise ForgeError(f"{where}: no complete checkpoint {start.checkpoint!r} (steps kept: {have})")
    client = ckpt.read_client(src, tag)
    zero = int(source["run"]["deepspeed"]["zero_stage"])
    if start.optimizer_state:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        if zero != run.deepspeed.zero_stage or int(client["world_size"]) != world:
            raise ForgeError(f"{where}: optimizer_state needs the same ZeRO stage and world size as the source "
                             f"(it has ZeRO {zero} on {client['world_size']} ranks, this run ZeRO "
                             f"{run.deepspeed.zero_stage} on {world}); or set optimizer_state=False")
    elif zero == 3:
        raise ForgeError(f"{where}: a ZeRO-3 checkpoint keeps its weights in the optimizer partitions; start "
                         "from checkpoint='model' or with optimizer_state=True")
    return {**info, "checkpoint": tag, "step": int(client["step"])}


def loads(source: dict[str, Any] | None, what: str) -> bool:
    """Whether the trainer loads `source` itself as `what` ("model" before DeepSpeed, "checkpoint"
    after); a `Model(checkpoint=...)` source is already loaded by the model builder."""
    if not source or source.get("via") is not None:
        return False
    return (source["checkpoint"] == "model") == (what == "model")


def load_exported(model, source: dict[str, Any]) -> None:
    """Copy an exported model's weights into the freshly built `model` (same architecture)."""
    from safetensors.torch import load_file

    folder = Path(source["run"]) / "model"
    index = folder / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() \
        else ["model.safetensors"]
    state: dict[str, Any] = {}
    for name in files:
        state.update(load_file(str(folder / name)))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # shape mismatches: a different architecture
        raise ForgeError(f"run.start_from {str(folder)!r}: does not fit run.model "
                         f"({str(e).splitlines()[-1].strip()}); use the source run's model config") from None
    tied = {"lm_head.weight"} if getattr(model.config, "tie_word_embeddings", False) else set()
    if unexpected or set(missing) - tied:
        raise ForgeError(f"run.start_from {str(folder)!r}: does not fit run.model (missing "
                         f"{sorted(set(missing) - tied)[:3]}, unexpected {sorted(unexpected)[:3]}); "
                         "use the source run's model config")


def load_checkpoint(engine, source: dict[str, Any]) -> None:
    """Load the source checkpoint's weights (and AdamW state when asked) into the engine."""
    from training import checkpoint as ckpt

    try:
        ckpt.load(engine, Path(source["run"]), source["checkpoint"], optimizer=source["optimizer_state"])
    except RuntimeError as e:  # the module's state dict refuses other shapes
        raise ForgeError(f"run.start_from {source['run']!r} checkpoint {source['checkpoint']}: does not fit "
                         f"run.model ({str(e).splitlines()[-1].strip()[:200]}); use the source run's model "
                         "config") from None


def recorded(out: Path) -> dict[str, Any] | None:
    """A resumed run's source, as its first start recorded it in run.json."""
    path = Path(out) / "run.json"
    return json.loads(path.read_text()).get("start_from") if path.is_file() else None
