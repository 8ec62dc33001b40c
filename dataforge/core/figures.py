"""Report charts shared by the layers: matplotlib set up headless, PNGs written atomically, and the
stacked funnel (records in, kept, and every drop and quarantine reason) that curation and the
generator both draw.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

KEPT_COLOR = "#3b7dd8"


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed: jobs run on servers and executors)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write `fig` to `path` through a temp sibling and a rename, so a reader never sees half a PNG.
    No timestamp or software tag is embedded: the same chart gives the same bytes."""
    plt = pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.png")
    try:
        fig.savefig(tmp, dpi=dpi, metadata={"Software": None})
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def reason_colors(reasons: list[str]) -> dict[str, Any]:
    """A colour per name, in order: tab20's ten strong colours first, then their light twins (so the
    first ten are told apart easily), cycling past 20. Quarantine reasons are hatched by the caller."""
    cmap = pyplot().get_cmap("tab20")
    order = [*range(0, 20, 2), *range(1, 20, 2)]
    return {r: cmap(order[i % 20]) for i, r in enumerate(reasons)}


def funnel_chart(rows: list[dict[str, Any]], path: str | Path, title: str, unit: str = "records",
                 kept: str = "kept") -> Path:
    """Two panels sharing one row per step: what is left after it (kept of in), and what it removed,
    stacked by every reason (so six small reasons are as visible as one large one).

    Args:
        rows: per step, in order: {"name", "in", "kept", "dropped": {reason: n}, "quarantined": {reason: n}}.
        unit, kept: what is counted and what the kept bars are called (e.g. "walks", "passed on").
    Example:
        funnel_chart([{"name": "lang", "in": 10, "kept": 7, "dropped": {"lang_fr": 2}, "quarantined":
                       {"bad_utf8": 1}}], "funnel.png", "Curation funnel")
    """
    plt = pyplot()
    keys = [("dropped", r) for r in sorted({r for row in rows for r in row["dropped"]})]
    keys += [("quarantined", r) for r in sorted({r for row in rows for r in row["quarantined"]})]
    # the first colour is the kept bars' blue: reasons start at the second
    colors = dict(list(reason_colors(["", *[r for _, r in keys]]).items())[1:])
    height = 0.45 * len(rows) + 1.6 + 0.18 * max(len(keys) - 4, 0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, height), sharey=True,
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    y = list(range(len(rows)))[::-1]
    left.barh(y, [r["in"] for r in rows], color="#d9d9d9", label="in")
    left.barh(y, [r["kept"] for r in rows], color=KEPT_COLOR, label=kept)
    top = max([r["in"] for r in rows] + [1])
    for yi, r in zip(y, rows, strict=True):
        left.text(r["kept"], yi, f" {r['kept']:,} of {r['in']:,}", va="center", fontsize=8)
    left.set_xlim(0, top * 1.35)
    left.set_yticks(y, [r["name"] for r in rows])
    left.set_xlabel(f"{unit} {kept} (of those in)")
    left.legend(loc="lower right", fontsize=8)
    base = [0] * len(rows)
    for kind, reason in keys:
        vals = [row[kind].get(reason, 0) for row in rows]
        if not any(vals):
            continue
        label = reason if kind == "dropped" else f"{reason} (quarantined)"
        right.barh(y, vals, left=base, color=colors[reason], hatch="//" if kind == "quarantined" else None,
                   edgecolor="white", linewidth=0.5, label=label)
        for yi, b, v in zip(y, base, vals, strict=True):
            if v:
                right.text(b + v / 2, yi, f"{v:,}", va="center", ha="center", fontsize=7)
        base = [b + v for b, v in zip(base, vals, strict=True)]
    right.set_xlim(0, max(base + [1]) * 1.1)
    right.set_xlabel(f"{unit} removed, by reason")
    if keys:
        right.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, frameon=False)
    else:
        right.text(0.5, 0.5, "nothing removed", transform=right.transAxes, ha="center", va="center")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_png(fig, path)
