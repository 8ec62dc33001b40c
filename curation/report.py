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
    """Records left after each step, and every drop and quarantine reason of each step stacked beside."""
    from dataforge.core.figures import funnel_chart

    rows = []
    for r in funnel:
        dropped = {k: v for k, v in r["reasons"].items() if not k.startswith("quarantined:")}
        quarantined = {k.split(":", 1)[1]: v for k, v in r["reasons"].items() if k.startswith("quarantined:")}
        rows.append({"name": r["step"], "in": r["in"], "kept": r["out"], "dropped": dropped,
                     "quarantined": quarantined})
    return funnel_chart(rows, path, "Curation funnel")
