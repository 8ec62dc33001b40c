"""The funnel report: records in, kept and dropped by reason for each step, as a table and a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def funnel_table(funnel: list[dict[str, Any]], title: str = "curation funnel"):
    """A rich Table of the funnel (one row per step)."""
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (("step", "left"), ("in", "right"), ("kept", "right"), ("dropped", "right"),
                         ("top reasons", "left")):
        table.add_column(col, justify=justify)
    for row in funnel:
        reasons = ", ".join(f"{k} {v}" for k, v in list(row["reasons"].items())[:4])
        if len(row["reasons"]) > 4:
            reasons += ", ..."
        table.add_row(row["step"], f"{row['in']:,}", f"{row['out']:,}", f"{row['dropped']:,}", reasons)
    return table


def print_funnel(funnel: list[dict[str, Any]], console=None) -> None:
    from rich.console import Console

    (console or Console()).print(funnel_table(funnel))


def save_funnel_png(funnel: list[dict[str, Any]], path: str | Path) -> Path:
    """A horizontal bar chart: records remaining after each step, with the drops stacked beside them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    names = [r["step"] for r in funnel]
    kept = [r["out"] for r in funnel]
    dropped = [r["dropped"] for r in funnel]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(funnel) + 1.4), dpi=110)
    y = list(range(len(funnel)))[::-1]
    ax.barh(y, kept, color="#3b7dd8", label="kept")
    ax.barh(y, dropped, left=kept, color="#e07b39", label="dropped / quarantined")
    for yi, r in zip(y, funnel, strict=True):
        top = next(iter(r["reasons"]), "")
        note = f"  -{r['dropped']:,}" + (f" ({top})" if top else "") if r["dropped"] else ""
        ax.text(r["in"], yi, note, va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlabel("records")
    ax.set_xlim(0, max([r["in"] for r in funnel] + [1]) * 1.45)
    ax.set_title("Curation funnel")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
