"""Run metrics: `metrics.jsonl` (one line per step) and MFU; the loss plot is in training/plot.py.

Each line: step, stage, loss, lr, grad_norm, tokens, tokens_per_s, mfu, padding, tokens consumed per
source so far, and on validation steps `val_loss` per source (each source's held-out slice) and
`evals` (each generation eval's pass rate).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from training.plot import plot_loss  # noqa: F401 - its historical home

# Dense bf16 peak TFLOP/s of known accelerators, for MFU when the spec gives none.
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "H800": 989.0, "GH200": 989.0, "A100": 312.0, "A800": 312.0,
               "L40S": 362.0, "B200": 2250.0}


def peak_tflops(device_name: str | None, override: float | None) -> float | None:
    """The accelerator's dense peak, or None on CPU / unknown devices (then MFU is not reported)."""
    if override:
        return override
    for key, value in PEAK_TFLOPS.items():
        if device_name and key in device_name:
            return value
    return None


def flops_per_token(params: int, layers: int, hidden: int, seq_len: int) -> float:
    """6 N + 12 L H S: weights forward and backward plus attention scores, per trained token."""
    return 6.0 * params + 12.0 * layers * hidden * seq_len


def mfu(tokens_per_s: float, params: int, layers: int, hidden: int, seq_len: int, world: int,
        peak: float | None) -> float | None:
    if not peak:
        return None
    return tokens_per_s * flops_per_token(params, layers, hidden, seq_len) / (peak * 1e12 * world)


class MetricsLog:
    """Append-only `metrics.jsonl`; on resume, lines past the checkpoint's step are dropped first.

    Example:
        log = MetricsLog(run_dir / "metrics.jsonl"); log.truncate_after(step=-1); log.write({...})
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def truncate_after(self, step: int) -> None:
        """Keep only lines with `step <= step` (what a resumed run has already trained)."""
        if not self.path.exists():
            return
        kept = [line for line in self.read() if line["step"] <= step]
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(x, sort_keys=True) + "\n" for x in kept))
        os.replace(tmp, self.path)

    def write(self, record: dict[str, Any]) -> None:
        with open(self.path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")
            f.flush()

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill mid-write; the step is retrained
                break
        return out


def stage_ends(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last step record of each stage (what the demo summary prints)."""
    ends: dict[str, dict[str, Any]] = {}
    for r in records:
        ends[r["stage"]] = r
    return list(ends.values())
