"""The run dir: claimed by rank 0 when a run starts; its manifest (kind "run") written when it ends:
the spec, the mixture it trained on, the exported model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataforge.core.card import write_card
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.inplace import InPlaceClaim
from dataforge.core.manifest import Manifest, code_version, data_files
from dataforge.core.secrets import redact
from training.spec import Run


def claim_run_dir(out: Path, *, resume: bool, overwrite: bool, is_main: bool) -> InPlaceClaim:
    """The claim of a run dir, checked (read-only) on rank 0; rank 0 then calls `acquire()` to lock it.

    A run dir holding a run is continued with `resume`, replaced with `overwrite`, else refused;
    a directory holding anything else is always refused. Other ranks do not check: the dir rank 0
    has just created would look like another run to them."""
    if resume and overwrite:
        raise ForgeError(f"--out {out}: --resume and --overwrite exclude each other; continue the run or replace it")
    claim = InPlaceClaim(out, "run", keep=resume, overwrite=overwrite,
                         hint="pass --resume to continue it, --overwrite to replace it, or choose another --out")
    if is_main:
        claim.check()
    return claim


def write_run_manifest(out: Path, run: Run, mixture_id: str, steps: int, complete: bool,
                       stage_losses: list[dict[str, Any]], source: dict[str, Any] | None = None,
                       evals: dict[str, dict[str, Any]] | None = None) -> Manifest:
    """Hash the exported model and the metrics (not the checkpoints, which can be huge) and write
    `manifest.json` last; its parents are the mixture id and, for a run started from another run,
    that run's manifest id."""
    import datetime as dt

    files = {f"model/{k}": v for k, v in data_files(out / "model").items()}
    files.update({k: v for k, v in data_files(out).items() if k == "metrics.jsonl"})
    config = redact(run.model_dump(mode="json"))  # e.g. a monitor's key in the DeepSpeed config
    parents = [mixture_id] + ([source["run_id"]] if source and source.get("run_id") else [])
    mid = stable_hash({"kind": "run", "parents": parents, "config": config, "files": files})
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    counts = {"steps": steps, "complete": complete}
    extra: dict[str, Any] = {"stage_end_loss": {r["stage"]: {"step": r["step"], "loss": r["loss"]}
                                                for r in stage_losses}}
    intro = [f"Trained on mixture `{mixture_id}`; the final model is in `model/`, the loss curve in "
             "`loss.png`, TensorBoard event files (if enabled) under `tensorboard/`."]
    if source:
        extra["start_from"] = source
        what = "its exported model" if source["checkpoint"] == "model" else f"checkpoint `{source['checkpoint']}`"
        state = " with its optimizer state" if source.get("optimizer_state") else ""
        intro.append(f"Started from run `{source['run']}` ({what}{state}).")
    if evals:
        extra["evals"] = evals
        intro.append("Generation evals (last score): " + ", ".join(
            f"`{name}` {v['score']:.3f} (step {v['step']}, stage {v['stage']})" for name, v in sorted(evals.items())))
    manifest = Manifest(id=mid, kind="run", parents=parents, config=config, counts=counts, files=files,
                        code_version=code_version(), created_at=now, extra=extra)
    write_card(out, manifest, title=f"Training run `{run.name}`", intro=intro)
    manifest.write(out)
    return manifest
