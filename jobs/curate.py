"""Curation job: run a pipeline spec over JSONL, Parquet or WARC input with Spark.

    forge curate pipeline.py --input PATH --out DIR [--master spark://host:7077] [--overwrite] [--strict]
    spark-submit jobs/curate.py pipeline.py --input PATH --out DIR
    forge curate train-classifier --positive good.jsonl --negative web.jsonl --out models/quality [--overwrite]

The spec module defines `pipeline = [...]` (datatrove filters/formatters and `curation` steps) or
`pipeline = Pipeline(steps=[...], ...)`. The output directory gets `data/`, `ledger/`, `dropped/`,
`quarantine/`, `funnel.png` and `manifest.json`, committed atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from jobs.cli_base import new_app

app = new_app("Curate records with Spark: datatrove filters, dedup, classifiers, ledger.", default_group=True)


@app.command("run")
def run(pipeline: Path = typer.Argument(..., help="Python spec defining `pipeline = [...]`."),
        input: list[str] = typer.Option(..., "--input", help="JSONL, Parquet or WARC file/dir, engine dataset dir, "
                                        "or any Spark URI (hdfs://, s3a://); repeat for several inputs."),
        out: Path = typer.Option(..., "--out", help="Output dataset directory."),
        master: str = typer.Option(None, "--master", help="Spark master (default local[*]; ignored under "
                                   "spark-submit)."),
        fmt: str = typer.Option(None, "--format", help="Force 'jsonl', 'parquet' or 'warc' instead of file "
                               "extensions."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a curated dataset already in --out "
                                       "(never anything else)."),
        strict: bool = typer.Option(False, "--strict", help="Fail on an input file that cannot be read to its "
                                    "end (truncated .gz, bad Parquet, broken symlink, ...) instead of "
                                    "quarantining it and going on."),
        ) -> None:
    """Run a curation pipeline over JSONL or Parquet input."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from curation.pipeline import as_pipeline
    from curation.report import print_funnel
    from curation.runner import check_local_inputs, run_pipeline
    from dataforge.core.errors import ForgeError
    from dataforge.core.outputs import preflight
    from dataforge.core.spark import get_spark
    from dataforge.core.specs import load_spec

    if fmt not in (None, "jsonl", "parquet", "warc"):
        raise ForgeError(f"--format {fmt}: use jsonl, parquet or warc")
    spec = as_pipeline(load_spec(pipeline, "pipeline"), where=str(pipeline))
    check_local_inputs(input)
    preflight(out, "curated", overwrite=overwrite, inputs=input, config=spec.config())  # before Spark starts
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("[bold]curate[/] {task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} stages"), TimeElapsedColumn(), console=console,
                  transient=True) as bar:
        task = bar.add_task("starting Spark", total=len(spec.steps) + 2)
        spark = get_spark(master, app_name="forge-curate")
        seen = []

        def progress(stage: str) -> None:
            if seen:
                bar.advance(task, len(seen[-1].split(", ")) if seen[-1] not in ("read", "write") else 1)
            seen.append(stage)
            bar.update(task, description=stage)

        result = run_pipeline(spec, list(input), out, spark=spark, fmt=fmt, progress=progress,
                              overwrite=overwrite, strict=strict or None)
    print_funnel(result.funnel, Console())
    c = result.manifest.counts
    typer.echo(f"curated {c['input']:,} records: {c['kept']:,} kept, {c['dropped']:,} dropped, "
               f"{c['quarantined']:,} quarantined" + (f"; {c['quarantined_files']:,} input files quarantined"
                                                       if c.get("quarantined_files") else ""))
    for f in result.manifest.extra.get("quarantined_files", []):
        typer.echo(f"quarantined file {f['file']}: {f['reason']} ({f['detail']}), "
                   f"{f['records_kept']:,} records before the fault kept")
    typer.echo(f"{result.out}  (manifest {result.manifest.id}, report {result.out / 'funnel.png'})")


@app.command("train-classifier")
def train_classifier_cmd(
        positive: list[Path] = typer.Option(..., "--positive", help="High-quality examples (JSONL, Parquet or "
                                            "text, one document per line); repeatable."),
        negative: list[Path] = typer.Option(..., "--negative", help="Low-quality examples; repeatable."),
        out: Path = typer.Option(..., "--out", help="Output directory for model.bin and manifest.json."),
        text_field: str = typer.Option("text", "--text-field", help="JSON field holding the text."),
        dim: int = typer.Option(64, "--dim", help="Embedding size."),
        epoch: int = typer.Option(10, "--epoch", help="Training epochs."),
        lr: float = typer.Option(0.5, "--lr", help="Learning rate."),
        min_count: int = typer.Option(1, "--min-count", help="Drop tokens seen fewer times."),
        seed: int = typer.Option(0, "--seed", help="Shuffling, held-out split and initialization."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a classifier already in --out "
                                       "(never anything else)."),
        ) -> None:
    """Train a fastText quality classifier (positive vs negative examples) for QualityClassifier."""
    from curation.classifiers.train import train_classifier

    m = train_classifier([str(p) for p in positive], [str(p) for p in negative], out, text_field=text_field,
                         dim=dim, epoch=epoch, lr=lr, min_count=min_count, seed=seed, overwrite=overwrite)
    val = m.extra.get("validation") or {}
    acc = f", held-out accuracy {val['accuracy']:.3f} on {val['examples']}" if val else ""
    typer.echo(f"trained on {m.counts['train']:,} examples{acc}")
    typer.echo(f"{Path(out).absolute() / 'model.bin'}  sha256 {m.extra['sha256']}  (manifest {m.id})")


if __name__ == "__main__":
    # `spark-submit jobs/curate.py` puts jobs/ first on sys.path; make the checkout importable too.
    sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
    from jobs.cli import main

    sys.exit(main(["curate", *sys.argv[1:]]))
