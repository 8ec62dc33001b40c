"""DataForge generation job.

    forge generate graph.py --out DIR [--walks N] [--seed S] [--backend ...] [--master ...]
    spark-submit jobs/generate.py graph.py --out DIR ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from dataforge.core.errors import ForgeError


def cli(graph: Path = typer.Argument(..., help="Python spec defining `graph`."),
        out: Path = typer.Option(..., "--out", help="Output dataset directory.")) -> None:
    """Run random walks through a DataForge graph and write a generated dataset."""
    raise ForgeError("forge generate is not implemented yet")


if __name__ == "__main__":
    from jobs.cli import main

    sys.exit(main(["generate", *sys.argv[1:]]))
