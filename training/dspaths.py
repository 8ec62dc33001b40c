"""The DeepSpeed config a spec adds (`run.deepspeed.config`): keys the spec owns, and files kept in the run dir.

DeepSpeed 0.19.8 writes files where its config says: the TensorBoard and CSV monitors under
`output_path/job_name` (the launch directory when `output_path` is empty), the flops profiler to
`flops_profiler.output_file`, ZeRO-Infinity swap files under `offload_*.nvme_path`, the autotuner
under `autotuning.results_dir`/`exps_dir`, data-efficiency indexes under `*_path`, and wandb/comet
into the working directory. A run writes only into its run dir, so every path-like field
(`*_path`, `*_dir`, `*_file`, `*_folder`, `*_paths`) is resolved against the run dir and refused if
it lands outside it (an absolute path elsewhere, or `..`); empty monitor paths become
`<run>/monitor`, and wandb/comet get `WANDB_DIR` / `COMET_OFFLINE_DIRECTORY` inside the run dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WHERE = "run.deepspeed.config"
PATH_SUFFIXES = ("_path", "_dir", "_file", "_folder", "_paths")
MONITORS = ("tensorboard", "csv_monitor")  # write under output_path/job_name

# Keys whose value the spec decides; a second copy in the DeepSpeed config would silently win.
_SET_BY = "set by {}; remove it from the DeepSpeed config"
OWNED = {
    "train_batch_size": _SET_BY.format("run.deepspeed.micro_batch_size x grad_accum x the world size"),
    "train_micro_batch_size_per_gpu": _SET_BY.format("run.deepspeed.micro_batch_size"),
    "gradient_accumulation_steps": _SET_BY.format("run.deepspeed.grad_accum"),
    "gradient_clipping": _SET_BY.format("run.deepspeed.grad_clip"),
    "optimizer": _SET_BY.format("run.optimizer (AdamW)"),
    "scheduler": _SET_BY.format("run.schedule (derived from the mixture's stages)"),
    "zero_optimization.stage": _SET_BY.format("run.deepspeed.zero_stage"),
    "bf16.enabled": _SET_BY.format("run.deepspeed.precision"),
    "amp.enabled": _SET_BY.format("run.deepspeed.precision"),
    # fp16 loss scaling skips overflowing steps on purpose; the trainer stops at a non-finite norm
    "fp16.enabled": "not supported: use run.deepspeed.precision 'bf16' or 'fp32'",
    "autotuning.enabled": "forge train does not run DeepSpeed's autotuner; remove it",
}
# Secrets would be written into run.json and the run manifest with the rest of the spec.
SECRETS = {"comet.api_key": "COMET_API_KEY"}


def _get(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_owned_keys(config: dict[str, Any]) -> None:
    """Refuse keys the spec owns and secrets (ValueError naming the key)."""
    for key, why in OWNED.items():
        v = _get(config, key)
        if v is not None and not (key.endswith(".enabled") and v is False):
            raise ValueError(f"{WHERE}.{key}: {why}")
    for key, env in SECRETS.items():
        if _get(config, key):
            raise ValueError(f"{WHERE}.{key}: a secret would be written into run.json and the manifest; "
                             f"set {env} in the environment instead")


def _inside(value: str, base: Path, run_dir: Path, field: str) -> str:
    path = Path(value).expanduser()
    resolved = (path if path.is_absolute() else base / path).resolve()
    if resolved != run_dir and run_dir not in resolved.parents:
        raise ValueError(f"{WHERE}.{field}: {value!r} is outside the run dir {run_dir}; give a path relative "
                         "to the run dir (it is resolved inside it)")
    return str(resolved)


def _walk(node: dict[str, Any], run_dir: Path, prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        field = f"{prefix}{key}"
        if isinstance(value, dict):
            out[key] = _walk(value, run_dir, f"{field}.")
        elif key.endswith(PATH_SUFFIXES) and isinstance(value, str) and value:
            out[key] = _inside(value, run_dir, run_dir, field)
        elif key.endswith(PATH_SUFFIXES) and isinstance(value, list):
            out[key] = [_inside(v, run_dir, run_dir, f"{field}[{i}]") if isinstance(v, str) else v
                        for i, v in enumerate(value)]
        else:
            out[key] = value
    return out


def confine(config: dict[str, Any], run_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The DeepSpeed config with every output path inside `run_dir`, and env vars for wandb/comet.

    Raises ValueError naming the first field that points outside the run dir.
    Example:
        confine({"csv_monitor": {"enabled": True, "output_path": "csv"}}, Path("runs/x"))
        # -> ({"csv_monitor": {"enabled": True, "output_path": "/abs/runs/x/csv"}}, {})
    """
    run_dir = Path(run_dir).absolute().resolve()
    check_owned_keys(config)
    out = _walk(config, run_dir, "")
    for name in MONITORS:
        section = out.get(name)
        if not isinstance(section, dict) or not section.get("enabled"):
            continue
        section["output_path"] = section.get("output_path") or str(run_dir / "monitor")
        # DeepSpeed joins job_name under output_path: an absolute job_name or `..` would escape it
        _inside(str(section.get("job_name", "DeepSpeedJobName")), Path(section["output_path"]), run_dir,
                f"{name}.job_name")
    env = {}
    if _get(out, "wandb.enabled"):
        env["WANDB_DIR"] = str(run_dir / "wandb")
    if _get(out, "comet.enabled"):
        env["COMET_OFFLINE_DIRECTORY"] = str(run_dir / "comet")
    return out, env
