"""Mixture jobs: build, list, show and diff versioned mixtures.

    forge mix build mixture.py [--registry DIR] [--master URL] [--partitions N]   # prints the mixture id
    forge mix plan mixture.py [--registry DIR] [--png PATH]                       # the plan; writes nothing
    forge mix list [--registry DIR]
    forge mix show ID [--registry DIR] [--json] [--verify]
    forge mix diff A B [--registry DIR]
    spark-submit jobs/mix.py build mixture.py --registry DIR                     # on any Spark cluster

The registry is `--registry DIR`, else `$FORGE_REGISTRY`, else ./registry.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import asdict
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from jobs.cli_base import new_app, new_png, work_on_stderr

app = new_app("Build and inspect versioned mixtures.")
# Wide when piped, so ids and paths are not folded in logs and scripts.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)
REGISTRY_HELP = "Registry directory (default: $FORGE_REGISTRY, else ./registry)."


class _RichProgress:
    """Build progress on stderr, so stdout carries only the mixture id."""

    def __init__(self, progress):
        self.p, self.task = progress, None

    def step(self, text: str, total: int | None = None, unit: str = "") -> None:
        if self.task is not None:
            t = self.p.tasks[self.task]
            self.p.update(self.task, completed=t.total if t.total else 1, total=t.total or 1)
        self.task = self.p.add_task(text, total=total, unit=unit)

    def advance(self, n: int) -> None:
        self.p.advance(self.task, n)

    def update(self, completed: int, total: int) -> None:
        self.p.update(self.task, completed=completed, total=total)


@app.command("build")
def build(spec: Path = typer.Argument(..., help="Python spec defining `mixture = Mixture(...)`."),
          registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
          master: str | None = typer.Option(None, "--master", help="Spark master (default local[*])."),
          partitions: int | None = typer.Option(None, "--partitions", min=1,
                                                help="Repartition each source before tokenizing.")) -> None:
    """Materialize a mixture spec into token shards in the registry and print its id."""
    from dataforge.core.progress import unit_progress
    from mixtures import build_spec

    with work_on_stderr(), unit_progress(err) as p:
        result = build_spec(spec, registry, master=master, partitions=partitions, progress=_RichProgress(p))
        p.stop()
    if not result.built:
        err.print(f"mixture {result.id} already in the registry; nothing to build", highlight=False)
    else:
        err.print(f"shard files written by {len(result.writers)} executor process(es): {' '.join(result.writers)} "
                  f"(driver {socket.gethostname()}:{os.getpid()})", highlight=False, soft_wrap=True)
    print(result.id, flush=True)


@app.command("plan")
def plan(spec: Path = typer.Argument(..., help="Python spec defining `mixture = Mixture(...)`."),
         registry: Path | None = typer.Option(None, "--registry", help="Where sources given by mixture id are "
                                              "looked up (default: $FORGE_REGISTRY, else ./registry)."),
         png: Path | None = typer.Option(None, "--png", help="Also draw tokens per source and stage and epochs "
                                         "per source into this new PNG file."),
         master: str | None = typer.Option(None, "--master", help="Spark master (default local[*])."),
         partitions: int | None = typer.Option(None, "--partitions", min=1,
                                               help="Repartition each source before tokenizing.")) -> None:
    """Print a mixture's plan without building it: tokens, documents and epochs per source and stage.

    The sources are tokenized (Spark) and planned exactly as `mix build` would.
    Nothing is written except the new PNG that --png names.
    Sources near their max_epochs are warned about on stderr.
    """
    from mixtures.preview import plan_spec

    if png is not None:
        png = new_png(png)
    p = plan_spec(spec, registry, master=master, partitions=partitions)
    total = sum(st["tokens"] for st in p.stages)
    out.print(f"[bold]{p.name}[/bold] (plan, not built): {total:,} tokens in {len(p.stages)} stage(s), "
              f"{p.quarantined} record(s) a build would quarantine", highlight=False)
    t = Table("source", "kind", "train docs", "train tokens", "held out docs", "epochs", "max", title="sources")
    for n, s in p.sources.items():
        t.add_row(n, s["kind"], f"{s['train_docs']:,}", f"{s['train_tokens']:,}", f"{s['holdout_docs']:,}",
                  f"{s['epochs']:.3f}", "-" if s["max_epochs"] is None else f"{s['max_epochs']:g}")
    out.print(t)
    t = Table("stage", "source", "weight", "tokens", "docs", "epochs", "seq_len", title="stages")
    for st in p.stages:
        for n, s in st["sources"].items():
            t.add_row(st["name"], n, f"{s['target_weight']:.4f}", f"{s['tokens']:,}", f"{s['docs']:,}",
                      f"{s['epochs']:.3f}", str(st["seq_len"]))
    out.print(t)
    for line in p.warnings:
        err.print(f"warning: {line}", highlight=False)
    if png is not None:
        print(p.chart(png), flush=True)


@app.command("list")
def list_(registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP)) -> None:
    """List the mixtures in the registry, oldest first."""
    from mixtures import entries, registry_dir

    found = entries(registry)
    if not found:
        err.print(f"no mixtures in {registry_dir(registry)}")
        return
    t = Table("id", "name", "created", "stages", "tokens", "sources")
    for e in found:
        m = e.manifest
        t.add_row(e.id, e.name, m.created_at, " > ".join(s["name"] for s in m.extra["stages"]),
                  f"{m.counts['tokens']:,}", ", ".join(m.extra["sources"]))
    out.print(t)


@app.command("verify")
def verify_cmd(mixture_id: str = typer.Argument(..., metavar="ID", help="Mixture id, unique id prefix or directory."),
               registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP)) -> None:
    """Hash every file of a mixture against its id, whatever was verified before; print the id if all match.

    Training opens a mixture hashing only files not yet verified on this machine (or changed since);
    this is the full check on demand, and it records the result for later opens.
    """
    from dataforge.core.manifest import Manifest
    from mixtures import locate
    from mixtures.verify import verify

    path = locate(mixture_id, registry)
    m = Manifest.read(path)
    hashed = verify(path, m, full=True)
    err.print(f"mixture {m.id}: {hashed} file(s) match their sha256", highlight=False)
    print(m.id, flush=True)


@app.command("show")
def show(mixture_id: str = typer.Argument(..., metavar="ID", help="Mixture id, unique id prefix or directory."),
         registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP),
         as_json: bool = typer.Option(False, "--json", help="Print the whole manifest as JSON."),
         verify_files: bool = typer.Option(False, "--verify",
                                           help="Also hash every file in full (as `forge mix verify`).")) -> None:
    """Show a mixture: sources, and per stage the target and realized weights, tokens and epochs.

    The manifest is always checked against the id (cheap); --verify also checks every file's sha256.
    """
    from dataforge.core.manifest import Manifest
    from mixtures import locate
    from mixtures.identity import check_identity
    from mixtures.verify import verify

    path = locate(mixture_id, registry)
    m = Manifest.read(path)
    if verify_files:
        verify(path, m, full=True)
    else:
        check_identity(path, m)
    if as_json:
        print(json.dumps({"path": str(path), **asdict(m)}, indent=2, ensure_ascii=False))
        return
    x = m.extra
    out.print(f"[bold]{m.config['name']}[/bold]  {m.id}\n{path}\ncreated {m.created_at}, tokenizer "
              f"{x['tokenizer']['name']} ({x['tokenizer']['hash'][:16]}), seed {m.config['seed']}, "
              f"{m.counts['tokens']:,} tokens, {m.counts['quarantined']} quarantined", highlight=False)
    t = Table("source", "kind", "manifest id", "train tokens", "held out", "epochs", "max", "path", title="sources")
    for n, s in x["sources"].items():
        t.add_row(n, s["kind"], s["manifest_id"], f"{s['train_tokens']:,}", f"{s['holdout_tokens']:,}",
                  f"{s['epochs']:.3f}", "-" if s["max_epochs"] is None else f"{s['max_epochs']:g}", s["path"])
    out.print(t)
    for st in x["stages"]:
        title = f"stage {st['name']}: {st['tokens']:,} tokens, seq_len {st['seq_len']}" + (", SFT" if st["sft"] else "")
        t = Table("source", "target", "realized", "tokens", "epochs", "docs", "pieces", title=title)
        for n, s in st["sources"].items():
            t.add_row(n, f"{s['target_weight']:.4f}", f"{s['realized_weight']:.4f}", f"{s['tokens']:,}",
                      f"{s['epochs']:.3f}", f"{s['docs']:,}", f"{s['pieces']:,}")
        out.print(t)


@app.command("diff")
def diff(a: str = typer.Argument(..., help="First mixture (id, prefix or directory)."),
         b: str = typer.Argument(..., help="Second mixture."),
         registry: Path | None = typer.Option(None, "--registry", help=REGISTRY_HELP)) -> None:
    """Per-stage weight, token and source differences between two mixtures."""
    from dataforge.core.manifest import Manifest
    from mixtures import locate
    from mixtures.diff import diff_manifests

    ma, mb = Manifest.read(locate(a, registry)), Manifest.read(locate(b, registry))
    changes = diff_manifests(ma, mb)
    if not changes:
        out.print(f"{ma.id} and {mb.id}: no differences", highlight=False)
        return
    t = Table("where", "what", f"A {ma.id[:12]}", f"B {mb.id[:12]}", "delta")
    for c in changes:
        t.add_row(c.where, c.what, str(c.a), str(c.b), c.delta())
    out.print(t)


if __name__ == "__main__":
    from jobs.cli import main

    sys.exit(main(["mix", *sys.argv[1:]]))
