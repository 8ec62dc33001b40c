"""Experiment trackers beside metrics.jsonl: TensorBoard event files (default) and wandb (optional).

    Run(..., report_to=["tensorboard"])            # <run>/tensorboard; `tensorboard --logdir RUN`
    Run(..., report_to=["tensorboard", "wandb"])   # wandb offline under <run>/wandb unless WANDB_MODE
    Run(..., report_to="none")

Like TRL's `report_to`. Every numeric field of a metrics line becomes a scalar named by its path
(`loss`, `lr`, `val_loss/web`, `evals/ifeval`, `rewards/margins`); rank 0 writes them.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any, Literal

from dataforge.core.errors import ForgeError

Reporter = Literal["tensorboard", "wandb"]
REPORTERS = ("tensorboard", "wandb")
PACKAGES = {"tensorboard": "tensorboard", "wandb": "wandb"}


def check_report_to(value: Any) -> Any:
    """`"none"` -> [], `"all"` -> every tracker, a name -> [name]; lists pass to the field's check."""
    if isinstance(value, str):
        if value == "none":
            return []
        return list(REPORTERS) if value == "all" else [value]
    return value


def check_installed(report_to: list[str]) -> None:
    """One line naming the missing package, before the run starts."""
    for name in report_to:
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise ForgeError(f"run.report_to {name!r}: the {PACKAGES[name]} package is not installed; "
                             f"pip install {PACKAGES[name]}, or remove {name!r} from run.report_to")


def scalars(record: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric fields of a metrics line, nested dicts flattened with `/`."""
    out: dict[str, float] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(scalars(value, f"{name}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and key != "step":
            out[name] = float(value)
    return out


class Tracker:
    """The run's trackers (rank 0); a no-op elsewhere or with `report_to=[]`.

    Args:
        report_to: tracker names.
        out: the run dir.
        name: the run's name (wandb's run name).
        config: the resolved spec (wandb's config; already redacted by the caller).
        resume_step: the step a resumed run continues after (its later events are superseded).
    Example:
        t = Tracker(["tensorboard"], run_dir, "tiny", {}); t.log({"step": 1, "loss": 9.1}); t.close()
    """

    def __init__(self, report_to: list[str], out: Path, name: str, config: dict[str, Any],
                 resume_step: int | None = None, enabled: bool = True):
        self.tb = self.wandb = None
        if not enabled:
            return
        if "tensorboard" in report_to:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step: TensorBoard drops events a killed run logged past its checkpoint
            self.tb = SummaryWriter(log_dir=str(out / "tensorboard"),
                                    purge_step=None if resume_step is None else resume_step + 1)
        if "wandb" in report_to:
            import wandb

            os.environ.setdefault("WANDB_MODE", "offline")  # nothing leaves the machine unless asked
            (out / "wandb").mkdir(exist_ok=True)
            self.wandb = wandb.init(project=os.environ.get("WANDB_PROJECT", "dataforge"), name=name,
                                    dir=str(out), config=config, id=_wandb_id(out), resume="allow")

    def log(self, record: dict[str, Any]) -> None:
        values = scalars(record)
        step = int(record["step"])
        if self.tb is not None:
            for tag, value in values.items():
                self.tb.add_scalar(tag, value, step)
            self.tb.flush()
        if self.wandb is not None:
            self.wandb.log(values, step=step)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.wandb is not None:
            self.wandb.finish()
        self.tb = self.wandb = None


def _wandb_id(out: Path) -> str:
    """One wandb run per run dir, so a resumed run continues its curves."""
    from dataforge.core.hashing import stable_hash

    return stable_hash({"run_dir": str(out)})[:16]
