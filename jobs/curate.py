"""Curation job.

    forge curate pipeline.py --input PATH --out DIR [--master ...]
    spark-submit jobs/curate.py pipeline.py --input PATH --out DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from dataforge.core.errors import ForgeError
from jobs.cli_base import new_app

app = new_app("Curate records with Spark: datatrove filters, dedup, classifiers, ledger.", default_group=True)


@app.command("run")
def run(pipeline: Path = typer.Argument(..., help="Python spec defining `pipeline = [...]`."),
        input: str = typer.Option(..., "--input", help="JSONL or Parquet input (any Spark filesystem)."),
        out: Path = typer.Option(..., "--out", help="Output dataset directory.")) -> None:
    """Run a curation pipeline over JSONL or Parquet input."""
    raise ForgeError("forge curate is not implemented yet")


if __name__ == "__main__":
    from jobs.cli import main

    sys.exit(main(["curate", *sys.argv[1:]]))
