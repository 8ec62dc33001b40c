"""`loss.png`: training and validation loss with the learning rate, stage switches marked, and a
second panel for scores when the run has any (generation evals, DPO reward accuracy and margins)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Per-step scores in 0..1 drawn on the score panel's left axis; margins (unbounded) on its right.
ACCURACY = "rewards/accuracies"
MARGINS = "rewards/margins"


def _series(records: list[dict[str, Any]], get) -> tuple[list[int], list[float]]:
    pts = [(r["step"], v) for r in records if (v := get(r)) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def _stage_lines(ax, records: list[dict[str, Any]], label: bool) -> None:
    prev = None
    for r in records:
        if prev is not None and r["stage"] != prev["stage"]:
            ax.axvline(r["step"] - 0.5, color="grey", ls=":", lw=1)
            if label:
                ax.text(r["step"], ax.get_ylim()[1], f" {r['stage']}", va="top", fontsize=8, color="grey")
        prev = r
    if label and records:
        ax.text(records[0]["step"], ax.get_ylim()[1], f" {records[0]['stage']}", va="top", fontsize=8,
                color="grey")


def _scores_panel(ax, records: list[dict[str, Any]]) -> None:
    names = sorted({n for r in records for n in (r.get("evals") or {})})
    for name in names:
        xs, ys = _series(records, lambda r, n=name: (r.get("evals") or {}).get(n))
        ax.plot(xs, ys, "s-", ms=3, lw=0.9, label=f"eval {name}")
    if any(ACCURACY in r for r in records):
        xs, ys = _series(records, lambda r: r.get(ACCURACY))
        ax.plot(xs, ys, lw=1.0, color="tab:green", label="reward accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("score")
    if any(MARGINS in r for r in records):
        right = ax.twinx()
        xs, ys = _series(records, lambda r: r.get(MARGINS))
        right.plot(xs, ys, lw=1.0, color="tab:purple", label="reward margin")
        right.set_ylabel("margin")
        right.legend(fontsize=8, loc="lower right")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_xlabel("step")


def plot_loss(records: list[dict[str, Any]], out: str | Path, title: str = "") -> Path:
    """PNG of training loss, validation loss per source and the learning rate per step, a line at
    each stage switch, and the score panel when any line has `evals` or DPO reward keys."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    scores = any(r.get("evals") or ACCURACY in r or MARGINS in r for r in records)
    fig, axes = plt.subplots(2 if scores else 1, 1, figsize=(8, 7 if scores else 4.5), dpi=110, sharex=True,
                             squeeze=False)
    ax = axes[0][0]
    xs, ys = _series(records, lambda r: r.get("loss"))
    ax.plot(xs, ys, lw=1.2, label="train loss")
    sources = sorted({s for r in records for s in (r.get("val_loss") or {})})
    for src in sources:
        xs, ys = _series(records, lambda r, s=src: (r.get("val_loss") or {}).get(s))
        ax.plot(xs, ys, "o--", ms=3, lw=0.8, label=f"val {src}")
    ax.set_ylabel("loss")
    ax.set_title(title or "loss")
    if any("lr" in r for r in records):
        lr_ax = ax.twinx()
        xs, ys = _series(records, lambda r: r.get("lr"))
        lr_ax.plot(xs, ys, color="tab:orange", lw=0.9, alpha=0.8, label="learning rate")
        lr_ax.set_ylabel("learning rate")
        lr_ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        lr_ax.legend(fontsize=8, loc="lower left")
    _stage_lines(ax, records, label=True)
    ax.legend(fontsize=8, loc="upper right")
    if scores:
        _scores_panel(axes[1][0], records)
        _stage_lines(axes[1][0], records, label=False)
    else:
        ax.set_xlabel("step")
    fig.tight_layout()
    tmp = out.with_name(f".{out.name}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out)
    return out
