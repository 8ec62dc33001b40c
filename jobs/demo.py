"""`forge demo --out DIR`: the whole flow on embedded defaults (generate -> curate -> mix -> train)."""

from __future__ import annotations

from pathlib import Path

import typer

from dataforge.core.errors import ForgeError


def cli(out: Path = typer.Option(..., "--out", help="Directory for the demo's specs and outputs.")) -> None:
    """Run the whole flow end to end on the embedded defaults."""
    raise ForgeError("forge demo is not implemented yet")
