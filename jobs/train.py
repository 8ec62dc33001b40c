"""Training jobs.

    forge train train.py [--max-steps N] [--resume] [--out DIR]
    deepspeed --num_gpus 8 jobs/train.py train.py --out DIR
    forge train trace RUN_DIR --step N
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from dataforge.core.errors import ForgeError
from jobs.cli_base import new_app

app = new_app("Train on a mixture with DeepSpeed, and trace what a step saw.", default_group=True)


@app.command("run")
def run(spec: Path = typer.Argument(..., help="Python spec defining `run`.")) -> None:
    """Train a model on a mixture version."""
    raise ForgeError("forge train is not implemented yet")


if __name__ == "__main__":
    from jobs.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
