"""`forge demo --out DIR`: the whole flow on the embedded defaults, generate -> curate -> mix -> train.

It writes the exact specs it runs under DIR/specs/, so any step can be edited and rerun alone:

    forge generate DIR/specs/graph.py --out DIR/generated
    forge curate DIR/specs/pipeline.py --input DIR/raw/web.jsonl --input DIR/generated --out DIR/curated
    forge mix plan DIR/specs/mixture.py
    forge mix build DIR/specs/mixture.py --registry DIR/registry
    forge train DIR/specs/train.py --plan
    forge train DIR/specs/train.py --out DIR/run

Its pictures (listed in the summary): the generator's per-node funnel, the curation funnel, the
mixture's planned and built composition (tokens and epochs per source and stage), the planned
learning rate and the training loss.
"""

from __future__ import annotations

import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
TEMPLATES = Path(__file__).resolve().parent / "demo_specs"


@dataclass
class DemoResult:
    """What each step of the demo did, for the summary and for tests."""

    out: Path
    generate: dict[str, Any] = field(default_factory=dict)
    curate: dict[str, Any] = field(default_factory=dict)
    mixture: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    pictures: dict[str, Path] = field(default_factory=dict)  # what each PNG shows -> its path

    def rerun_commands(self) -> list[str]:
        d = self.out
        return [f"forge generate {d}/specs/graph.py --out {d}/generated",
                f"forge curate {d}/specs/pipeline.py --input {d}/raw/web.jsonl --input {d}/generated "
                f"--out {d}/curated",
                f"forge mix plan {d}/specs/mixture.py",
                f"forge mix build {d}/specs/mixture.py --registry {d}/registry",
                f"forge train {d}/specs/train.py --plan",
                f"forge train {d}/specs/train.py --out {d}/run"]


def write_specs(out: Path, walks: int) -> dict[str, Path]:
    """Copy the specs the demo runs into out/specs (train.py is written once the mixture id is known)."""
    specs = out / "specs"
    specs.mkdir(parents=True, exist_ok=True)
    graph = (EXAMPLES / "generate" / "qa_judge.py").read_text()
    graph = re.sub(r"^walks = .*$", f"walks = {walks}", graph, count=1, flags=re.M)
    paths = {"graph": specs / "graph.py", "pipeline": specs / "pipeline.py", "mixture": specs / "mixture.py"}
    paths["graph"].write_text(graph)
    for name in ("pipeline", "mixture"):
        shutil.copyfile(TEMPLATES / f"{name}.py", paths[name])
    return paths


def _timed(result: DemoResult, name: str, console: Console):
    class _Step:
        def __enter__(self):
            console.rule(f"[bold]{name}")
            self.t0 = time.monotonic()

        def __exit__(self, *exc):
            result.seconds[name] = round(time.monotonic() - self.t0, 1)

    return _Step()


def run_demo(out: Path, walks: int = 48, seed: int = 0, master: str | None = None,
             max_steps: int | None = None, console: Console | None = None, overwrite: bool = False) -> DemoResult:
    """Run the four steps into `out`; each step's output is a committed dataset directory.

    `out` is the demo's own directory: a demo dir is rerun in place only with `overwrite` (each step
    then replaces its output), and a directory holding anything else is refused before any work.
    """
    from dataforge.core.inplace import InPlaceClaim

    with InPlaceClaim(out, "demo", keep=overwrite,
                      hint="pass --overwrite to rerun the demo in it or choose another --out").acquire() as claim:
        return _run_demo(claim.out, walks, seed, master, max_steps, console, overwrite)


def _run_demo(out: Path, walks: int, seed: int, master: str | None, max_steps: int | None,
              console: Console | None, overwrite: bool) -> DemoResult:
    from curation import as_pipeline, run_pipeline, web_demo_path
    from dataforge.core.specs import load_spec
    from dataforge.job import GenerateOptions, run_generate
    from mixtures import build_spec, open_mixture
    from mixtures.preview import plan_spec
    from training import Run, Trainer
    from training.examples import render_example
    from training.plan import plan_run

    console = console or Console(stderr=True)
    result = DemoResult(out)
    specs = write_specs(out, walks)
    raw = out / "raw" / "web.jsonl"
    raw.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(web_demo_path(), raw)

    with _timed(result, "generate", console):
        manifest, stats = run_generate(specs["graph"], out / "generated", GenerateOptions(
            seed=seed, master=master, cache=str(out / "cache"), progress=True, overwrite=overwrite))
        result.generate = {"id": manifest.id, **manifest.counts, "dropped_by": manifest.extra["dropped"],
                           "quarantined_by": manifest.extra["quarantined"]}
        result.pictures["generator funnel per node"] = out / "generated" / "funnel.png"

    with _timed(result, "curate", console):
        pipeline = as_pipeline(load_spec(specs["pipeline"], "pipeline"), str(specs["pipeline"]))
        curated = run_pipeline(pipeline, [str(raw), str(out / "generated")], out / "curated",
                               progress=lambda stage: console.print(f"  curate: {stage}"), overwrite=overwrite)
        result.curate = {"id": curated.manifest.id, "funnel": curated.funnel, **curated.manifest.counts}
        result.pictures["curation funnel, every reason"] = out / "curated" / "funnel.png"

    plans = out / "plans"
    plans.mkdir(exist_ok=True)
    with _timed(result, "mix", console):
        planned = plan_spec(specs["mixture"], out / "registry")
        result.pictures["mixture plan"] = planned.chart(plans / "mixture.png")
        for line in planned.warnings:
            console.print(f"  warning: {line}", highlight=False)
        built = build_spec(specs["mixture"], out / "registry")
        mx = open_mixture(built.id, registry=out / "registry")
        result.mixture = {"id": built.id, "stages": mx.manifest.extra["stages"], "planned": planned.stages}
        result.pictures["mixture as built (card)"] = mx.path / "weights.png"

    with _timed(result, "train", console):
        specs["train"] = out / "specs" / "train.py"
        specs["train"].write_text(render_example("tiny_llama", built.id, out / "registry"))
        run = load_spec(specs["train"], "run", Run)
        result.pictures["learning rate plan"] = plan_run(run).chart(plans / "lr.png")
        trained = Trainer(run, out / "run", max_steps=max_steps, spec_path=str(specs["train"]),
                          overwrite=overwrite).fit()
        result.train = {"steps": trained.steps, "complete": trained.complete,
                        "stage_losses": trained.stage_losses, "model_dir": str(trained.model_dir)}
        result.pictures["training loss"] = out / "run" / "loss.png"
    return result


def summary_tables(r: DemoResult) -> list[Table]:
    g, c = r.generate, r.curate
    steps = Table(title="forge demo: records through each step")
    for col, justify in (("step", "left"), ("in", "right"), ("out", "right"), ("detail", "left"),
                         ("seconds", "right")):
        steps.add_column(col, justify=justify)
    dropped = ", ".join(f"{k} {v}" for k, v in g["dropped_by"].items()) or "none"
    steps.add_row("generate", f"{g['walks']} walks", f"{g['records']} records",
                  f"{g['llm_calls']} LLM calls ({g['cache_hits']} cached); dropped: {dropped}; "
                  f"quarantined {g['quarantined']}", f"{r.seconds['generate']}")
    reasons: dict[str, int] = {}
    for row in c["funnel"]:
        for k, v in row["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
    steps.add_row("curate", f"{c['funnel'][0]['in']} records", f"{c['kept']} kept",
                  f"dropped {c['dropped']}, quarantined {c['quarantined']}: "
                  + ", ".join(f"{k} {v}" for k, v in sorted(reasons.items(), key=lambda kv: -kv[1])),
                  f"{r.seconds['curate']}")
    tokens = sum(s["tokens"] for s in r.mixture["stages"])
    steps.add_row("mix", f"{c['kept']} records", f"{tokens:,} tokens", f"mixture {r.mixture['id']}",
                  f"{r.seconds['mix']}")
    t = r.train
    steps.add_row("train", f"{tokens:,} tokens", f"{t['steps']} steps",
                  "complete" if t["complete"] else "stopped early", f"{r.seconds['train']}")

    weights = Table(title=f"mixture {r.mixture['id']}: target vs realized weights")
    for col in ("stage", "source", "target", "realized", "tokens", "epochs"):
        weights.add_column(col, justify="left" if col in ("stage", "source") else "right")
    for st in r.mixture["stages"]:
        for name, s in st["sources"].items():
            weights.add_row(st["name"], name, f"{s['target_weight']:.3f}", f"{s['realized_weight']:.3f}",
                            f"{s['tokens']:,}", f"{s['epochs']:.2f}")

    losses = Table(title="training loss at the end of each stage")
    for col in ("stage", "step", "loss", "validation loss"):
        losses.add_column(col)
    for s in t["stage_losses"]:
        val = ", ".join(f"{k} {v:.3f}" for k, v in sorted((s.get("val_loss") or {}).items())) or "-"
        losses.add_row(s["stage"], str(s["step"]), f"{s['loss']:.4f}", val)
    pictures = Table(title="pictures")
    for col in ("what", "PNG"):
        pictures.add_column(col, overflow="fold")
    for what, path in r.pictures.items():
        pictures.add_row(what, str(path))
    return [steps, weights, losses, pictures]


def cli(out: Path = typer.Option(Path("demo-out"), "--out", help="Directory for the demo's specs and outputs."),
        walks: int = typer.Option(48, "--walks", min=1, help="Generator walks (about half pass the judge)."),
        seed: int = typer.Option(0, "--seed", help="Seed for walks and mixture sampling."),
        master: str = typer.Option(None, "--master", help="Spark master (default local[*])."),
        max_steps: int = typer.Option(None, "--max-steps", min=1, help="Stop training after this step."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Rerun in a demo dir a previous demo wrote, "
                                       "replacing its outputs (never a directory the demo did not write).")) -> None:
    """Run the whole flow end to end on the embedded defaults, then print a summary."""
    t0 = time.monotonic()
    result = run_demo(out, walks=walks, seed=seed, master=master, max_steps=max_steps, overwrite=overwrite)
    console = Console()
    for table in summary_tables(result):
        console.print(table)
    console.print(f"demo finished in {time.monotonic() - t0:.0f} s; outputs in {result.out}")
    console.print("edit a spec and rerun that step alone:")
    for cmd in result.rerun_commands():
        console.print(f"  {cmd}", soft_wrap=True, highlight=False)
