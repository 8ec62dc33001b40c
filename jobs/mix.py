"""Mixture jobs.

    forge mix build mixture.py [--registry DIR]
    forge mix list | show ID | diff A B
    spark-submit jobs/mix.py build mixture.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from dataforge.core.errors import ForgeError
from jobs.cli_base import new_app

app = new_app("Build and inspect versioned mixtures.")


@app.command("build")
def build(spec: Path = typer.Argument(..., help="Python spec defining `mixture`.")) -> None:
    """Materialize a mixture spec into token shards and register it."""
    raise ForgeError("forge mix build is not implemented yet")


if __name__ == "__main__":
    from jobs.cli import main

    sys.exit(main(["mix", *sys.argv[1:]]))
