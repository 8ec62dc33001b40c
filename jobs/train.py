"""Training jobs.

    forge train train.py [--max-steps N] [--resume] [--out DIR] [--mixture ID] [--registry DIR]
    forge train train.py --plan [--png PATH] [--world-size N]     # steps, tokens and lr per stage; no training
    deepspeed --num_gpus 8 jobs/train.py train.py --out DIR          # one process per GPU
    deepspeed --hostfile hosts jobs/train.py train.py --out /shared/DIR
    forge train trace RUN_DIR --step N [--json]

Under the `deepspeed` launcher each rank runs this file with `--local_rank=N` first; it is taken off
before the command line is parsed (the rank also arrives as LOCAL_RANK).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import typer

from jobs.cli_base import new_app, new_png

app = new_app("Train on a mixture with DeepSpeed, and trace what a step saw.", default_group=True)


@app.command("run")
def run(ctx: typer.Context,
        spec: Path = typer.Argument(..., help="Python spec defining `run = Run(...)`."),
        max_steps: int = typer.Option(None, "--max-steps", min=1, help="Stop after this global step."),
        resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint in the run dir."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run the run dir holds (never "
                                       "anything else); the old one is deleted once this run ends well."),
        out: Path = typer.Option(None, "--out", help="Run dir (default: runs/<run.name>)."),
        mixture: str = typer.Option(None, "--mixture", help="Mixture id or dir, in place of the spec's."),
        registry: str = typer.Option(None, "--registry", help="Mixture registry dir, in place of the spec's."),
        plan: bool = typer.Option(False, "--plan", help="Print steps, tokens and learning rate per stage and "
                                  "stop: no training, nothing written (but --png)."),
        png: Path = typer.Option(None, "--png", help="With --plan: draw the learning rate over steps into this "
                                 "new PNG file."),
        world_size: int = typer.Option(1, "--world-size", min=1, help="With --plan: data-parallel ranks the "
                                       "run will have (the global batch scales with it).")
        ) -> None:
    """Train a model on a mixture version, stage by stage (or, with --plan, show what training will do)."""
    from training.failure import exit_now, multi_rank, report

    if png is not None and not plan:
        from dataforge.core.errors import ForgeError

        raise ForgeError("--png: only with --plan (a run draws its loss.png into the run dir)")
    if plan:
        _plan(spec, mixture, registry, png, world_size)
        return
    try:
        result = _train(spec, max_steps, resume, overwrite, out, mixture, registry)
    except Exception as e:
        if not multi_rank() or ctx.find_root().params.get("debug"):
            raise
        report(e)  # one `forge: error:` line for all ranks together, printed by one of them
        exit_now(2)
    if int(os.environ.get("RANK", "0")) == 0:
        _print_result(result)


def _load_run(spec: Path, mixture: str | None, registry: str | None):
    from dataforge.core.errors import ForgeError, SpecError
    from dataforge.core.specs import load_spec
    from training import Run

    try:
        spec_obj = load_spec(spec, "run", Run)
    except SpecError as e:
        if isinstance(e.__cause__, ForgeError):  # a spec class refused a field: say the file and the field
            where = str(e).split(": spec failed to import:")[0]
            raise SpecError(f"{where}: {e.__cause__}") from e
        raise
    overrides = {k: v for k, v in (("mixture", mixture), ("registry", registry)) if v is not None}
    if overrides:  # re-validated: the same checks as a spec that named them
        spec_obj = Run(**{**spec_obj.model_dump(), **overrides})
    return spec_obj


def _train(spec: Path, max_steps: int | None, resume: bool, overwrite: bool, out: Path | None, mixture: str | None,
           registry: str | None):
    from training import Trainer

    spec_obj = _load_run(spec, mixture, registry)
    out = out or Path("runs") / spec_obj.name
    return Trainer(spec_obj, out, max_steps=max_steps, resume=resume, spec_path=str(spec),
                   overwrite=overwrite).fit()


def _plan(spec: Path, mixture: str | None, registry: str | None, png: Path | None, world_size: int) -> None:
    """The run's plan as a table on stdout (and the PNG's path, when asked); nothing else is written."""
    from rich.console import Console
    from rich.table import Table

    from dataforge.core.errors import ForgeError
    from training.plan import plan_run

    png = None if png is None else new_png(png)
    p = plan_run(_load_run(spec, mixture, registry), world_size=world_size)
    if not p.steps:
        raise ForgeError(f"{spec}: mixture {p.mixture_id} gives no training step")
    table = Table(title=f"run {p.run} on mixture {p.mixture_id}: {len(p.steps)} steps of {p.global_rows} rows "
                        f"({world_size} rank(s))")
    for col in ("stage", "steps", "first", "last", "seq_len", "tokens", "padding", "lr start", "lr max", "lr end"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    for st in p.stages:
        table.add_row(st["stage"], str(st["steps"]), str(st["first_step"]), str(st["last_step"]), str(st["seq_len"]),
                      f"{st['tokens']:,}", f"{st['padding']:.1%}", f"{st['lr_start']:.3g}", f"{st['lr_max']:.3g}",
                      f"{st['lr_end']:.3g}")
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    if png is not None:
        print(p.chart(png), flush=True)


def _print_result(result) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"run {result.out}  (mixture {result.mixture_id})")
    for col in ("stage", "last step", "loss", "val loss"):
        table.add_column(col)
    for r in result.stage_losses:
        val = ", ".join(f"{k} {v:.4f}" for k, v in sorted((r.get("val_loss") or {}).items()))
        table.add_row(r["stage"], str(r["step"]), f"{r['loss']:.4f}", val or "-")
    console = Console()
    console.print(table)
    state = "complete" if result.complete else "stopped early (--max-steps); continue with --resume"
    console.print(f"{result.steps} steps, {state}; model: {result.model_dir}")


@app.command("trace")
def trace(run_dir: Path = typer.Argument(..., help="A run dir written by `forge train`."),
          step: int = typer.Option(..., "--step", help="The 1-based training step to trace."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the documents in step N's batch and where their source datasets say they came from."""
    from training.trace import trace as trace_step

    t = trace_step(run_dir, step)
    if as_json:
        typer.echo(json.dumps(t, indent=2, sort_keys=True, default=str))
        return
    from rich.console import Console
    from rich.table import Table

    check = {True: "matches metrics.jsonl", False: "DOES NOT match metrics.jsonl", None: "not in metrics.jsonl"}
    table = Table(title=f"step {t['step']}: stage {t['stage']}, {t['tokens']} tokens in {t['rows']} rows "
                        f"({check[t['matches_metrics']]})")
    for col in ("doc id", "source", "piece", "tokens", "row/rank", "dataset", "walk", "ledger"):
        table.add_column(col, overflow="fold")
    for d in t["documents"]:
        walk = " > ".join(map(str, d["walk"])) if isinstance(d["walk"], list) else (d["walk"] or "-")
        ledger = "; ".join((f"{x['step']}: " if x.get("step") else "") + str(x.get("decision"))
                           + (f" ({x['reason']})" if x.get("reason") else "") for x in d["ledger"]) or "-"
        table.add_row(d["doc_id"], d["source"], f"{d['piece_index'] + 1}/{d['num_pieces']}", str(d["tokens"]),
                      f"{d['row']}/{d['rank']}", d["dataset_kind"] or "-", walk, ledger)
    Console().print(table)


def _strip_launcher_args(argv: list[str]) -> list[str]:
    """Drop `--local_rank=N` / `--local_rank N` that the deepspeed launcher puts before our args."""
    out, skip = [], False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a.startswith("--local_rank=") or a.startswith("--local-rank="):
            os.environ.setdefault("LOCAL_RANK", a.split("=", 1)[1])
            continue
        if a in ("--local_rank", "--local-rank") and i + 1 < len(argv):
            os.environ.setdefault("LOCAL_RANK", argv[i + 1])
            skip = True
            continue
        out.append(a)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from jobs.cli import main

    sys.exit(main(["train", *_strip_launcher_args(sys.argv[1:])]))
