"""The composition chart of a mixture, planned (`forge mix plan`) or built (the card's weights.png).

Weights alone say little once a build meets its targets (target and realized bars are then equal);
what a reader wants to know is how many tokens each source gives each stage and how often its data
repeats. So the chart has two panels: tokens per stage stacked by source, and each source's epochs
over the run (cumulative at the end of each stage) against its `max_epochs`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataforge.core.figures import pyplot, reason_colors, save_png
from mixtures.spec import MAX_EPOCHS

NEAR_MAX_EPOCHS = 0.8  # a source planned to read at least this share of its max_epochs is flagged


def cumulative_epochs(stages: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per source, its epochs read by the end of each stage (0 before it first appears)."""
    names = sorted({n for st in stages for n in st["sources"]})
    out, run = {n: [] for n in names}, dict.fromkeys(names, 0.0)
    for st in stages:
        for n in names:
            run[n] += st["sources"].get(n, {}).get("epochs", 0.0)
            out[n].append(run[n])
    return out


def epoch_warnings(stages: list[dict[str, Any]], sources: dict[str, dict[str, Any]],
                   near: float = NEAR_MAX_EPOCHS) -> list[str]:
    """One line per source whose epochs over the run reach `near` x its cap (its max_epochs, else the
    MAX_EPOCHS a build allows without one)."""
    lines = []
    for n, eps in cumulative_epochs(stages).items():
        own = sources.get(n, {}).get("max_epochs")
        cap = own or MAX_EPOCHS
        if eps and eps[-1] >= near * cap:
            limit = f"its max_epochs={cap:g}" if own else f"the {MAX_EPOCHS} allowed without max_epochs"
            lines.append(f"source {n}: {eps[-1]:.2f} epochs over the run, {eps[-1] / cap:.0%} of {limit}; "
                         "add data or lower its weight before it becomes the limit")
    return lines


def composition_chart(stages: list[dict[str, Any]], sources: dict[str, dict[str, Any]], path: str | Path,
                      title: str) -> Path:
    """Write the two-panel PNG for `stages` (each {"name", "tokens", "sources": {name: {"tokens", "epochs"}}},
    as in a plan or a manifest's `extra.stages`) and `sources` ({name: {"max_epochs"}})."""
    plt = pyplot()
    names = sorted({n for st in stages for n in st["sources"]})
    colors = reason_colors(names)
    fig, (ax_t, ax_e) = plt.subplots(1, 2, figsize=(5.5 + 1.6 * len(stages), 4.2))
    xs = list(range(len(stages)))
    base = [0] * len(stages)
    for n in names:
        vals = [st["sources"].get(n, {}).get("tokens", 0) for st in stages]
        ax_t.bar(xs, vals, 0.6, bottom=base, color=colors[n], label=n, edgecolor="white", linewidth=0.5)
        for x, b, v, st in zip(xs, base, vals, stages, strict=True):
            if v and st["tokens"] and v / st["tokens"] >= 0.06:  # too thin a segment has no room for a label
                ax_t.text(x, b + v / 2, f"{v:,}", ha="center", va="center", fontsize=7)
        base = [b + v for b, v in zip(base, vals, strict=True)]
    ax_t.set_xticks(xs, [st["name"] for st in stages])
    ax_t.set_ylabel("tokens")
    ax_t.set_title("tokens per stage, by source", fontsize=9)
    ax_t.legend(fontsize=8)
    cum = cumulative_epochs(stages)
    for n in names:
        ax_e.plot(xs, cum[n], "o-", color=colors[n], label=n)
        cap = sources.get(n, {}).get("max_epochs")
        if cap:
            ax_e.axhline(cap, color=colors[n], ls="--", lw=1)
            ax_e.text(xs[-1], cap, f"{n}: max_epochs {cap:g} ", va="bottom", ha="right", fontsize=7,
                      color=colors[n])
    ax_e.set_xticks(xs, [f"end of {st['name']}" for st in stages])
    ax_e.set_ylim(bottom=0)
    ax_e.set_ylabel("epochs read (cumulative)")
    ax_e.set_title("epochs per source over the run", fontsize=9)
    ax_e.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
