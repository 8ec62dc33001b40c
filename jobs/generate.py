"""DataForge generation job.

    forge generate graph.py --out DIR [--walks N] [--seed S] [--backend transformers|vllm|openai]
                  [--model M] [--base-url URL] [--batch-size B] [--master URL] [--partitions P]
                  [--cache DIR | --no-cache] [--emit-calls] [--overwrite]
    spark-submit jobs/generate.py graph.py --out DIR ...

The spec module defines `graph` and `seeds` (see docs/generator.md). Output: DIR/data (records),
DIR/dropped, DIR/quarantine, optional DIR/calls, and DIR/manifest.json (kind `generated`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from dataforge.core.errors import ForgeError


def _options(pairs: list[str]) -> dict[str, object]:
    import json

    out: dict[str, object] = {}
    for p in pairs:
        if "=" not in p:
            raise ForgeError(f"--option {p!r}: use KEY=VALUE (VALUE is parsed as JSON when it can be)")
        k, v = p.split("=", 1)
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def cli(graph: Path = typer.Argument(..., help="Python spec defining `graph` and `seeds`."),
        out: Path = typer.Option(..., "--out", help="Output dataset directory."),
        walks: int = typer.Option(None, "--walks", min=1, help="Walks in total (default: the spec's `walks`, "
                                  "else one per seed)."),
        seed: int = typer.Option(0, "--seed", help="Global seed: same seed, same walks and records."),
        backend: str = typer.Option(None, "--backend", help="transformers (default), vllm or openai."),
        model: str = typer.Option(None, "--model", help="`embedded`, a local HF folder, or the served model."),
        base_url: str = typer.Option(None, "--base-url", help="openai backend: e.g. http://host:8000/v1"),
        batch_size: int = typer.Option(None, "--batch-size", min=1, help="Prompts per backend call."),
        option: list[str] = typer.Option([], "--option", help="Backend option KEY=VALUE (repeatable)."),
        master: str = typer.Option(None, "--master", help="Spark master (default local[*])."),
        partitions: int = typer.Option(None, "--partitions", min=1, help="Spark partitions of walks."),
        cache: str = typer.Option(None, "--cache", help="LLM call cache dir (shared by executors)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Call the model for every call."),
        emit_calls: bool = typer.Option(False, "--emit-calls", help="Also write every LLM call as an SFT record."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a generated dataset already in --out "
                                       "(never anything else)."),
        ) -> None:
    """Run random walks through a DataForge graph and write a generated dataset."""
    from rich.console import Console

    from dataforge.backends.registry import KINDS, BackendSpec
    from dataforge.job import GenerateOptions, run_generate
    from dataforge.spec import load_generate_spec

    if backend is not None and backend not in KINDS:
        raise ForgeError(f"--backend {backend!r}: choose one of {', '.join(KINDS)}")
    spec = load_generate_spec(graph)
    spec_backend = spec.backend or BackendSpec()
    opts = _options(option)
    if base_url:
        opts["base_url"] = base_url
    backend_spec = BackendSpec(kind=backend or spec_backend.kind, model=model or spec_backend.model,
                               batch_size=batch_size or spec_backend.batch_size,
                               options={**(spec_backend.options if (backend or spec_backend.kind) ==
                                           spec_backend.kind else {}), **opts})
    console = Console(stderr=True)
    manifest, stats = run_generate(spec, out, GenerateOptions(
        walks=walks, seed=seed, backend=backend_spec, master=master, partitions=partitions, cache=cache,
        use_cache=not no_cache, emit_calls=emit_calls, progress=True, overwrite=overwrite))
    console.print(stats.table(f"forge generate {graph.name}"))
    console.print(stats.line(), soft_wrap=True)
    if manifest.counts.get("bad_seeds"):
        console.print(f"{manifest.counts['bad_seeds']} seed row(s) quarantined as bad_seed (see {out}/quarantine)",
                      soft_wrap=True)
    console.print(f"wrote {out} (manifest {manifest.id})", soft_wrap=True)


if __name__ == "__main__":
    from jobs.cli import main

    sys.exit(main(["generate", *sys.argv[1:]]))
