"""`forge export DIR --to PATH`: a clean, Hub-ready copy of a committed output (no network).

    forge export out/web --to upload/web
    hf upload my-org/web upload/web --repo-type dataset     # the usual Hub tools, by you

PATH gets the data files, the card (README.md with `configs` for every table), the charts and
manifest.json; nothing else (see dataforge/core/export.py).
"""

from __future__ import annotations

from pathlib import Path

import typer


def cli(dir: Path = typer.Argument(..., help="A committed output folder (generated, curated, "
                                   "mixture, run or classifier)."),
        to: Path = typer.Option(..., "--to", help="A new (or empty) directory outside DIR.")) -> None:
    """Copy a committed output to a new folder, ready to upload to the Hugging Face Hub."""
    from dataforge.core.export import export_output
    from jobs.cli_base import work_on_stderr

    with work_on_stderr():
        m, copied = export_output(dir, to)
    typer.echo(f"exported {m.kind} {m.id}: {len(copied)} files -> {to}")
