"""The Spark runner: read -> steps -> ledger, dropped store, quarantine, data, report, manifest.

Consecutive record steps run fused in one `mapInArrow` pass (each step object is unpickled and
opened once per partition); dataset steps (dedup) run as Spark jobs over the records still kept.
Each stage's result is written to scratch Parquet inside the output's temp directory, which cuts
Spark's lineage (no step runs twice) and keeps memory flat. Everything lands in a temp sibling of
`DIR` that is renamed into place after `manifest.json` is written, so a killed run leaves nothing
that looks complete and a rerun produces the same bytes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curation.ledger import finish_outputs
from curation.pipeline import Pipeline
from curation.readers import (
    FAULT,
    LINE_BITS,
    FileFault,
    InputSet,
    file_faults,
    parsed_frame,
    read_summary,
    resolve_input,
)
from curation.steps.base import DatasetStep
from curation.steps.datatrove import DatatroveStep, is_datatrove_step
from curation.steps.fused import STAGED_DDL, WORK_COLUMNS, fused_mapper
from dataforge.core.card import write_card
from dataforge.core.errors import ForgeError
from dataforge.core.manifest import Manifest
from dataforge.core.outputs import Claim, claim_output

# `progress(step, records)`: a step starts on `records` records (None where not counted yet)
Progress = Callable[[str, "int | None"], None]

# Let adaptive execution size shuffle partitions by bytes, not by the (often padded) default
# parallelism: small stages then run as one or two tasks instead of eight tiny ones.
RUN_CONF = {"spark.sql.adaptive.coalescePartitions.parallelismFirst": "false"}


@contextlib.contextmanager
def tuned(spark):
    """Apply `RUN_CONF` to the session for the duration of a run, then restore what was there."""
    old = {k: spark.conf.get(k, None) for k in RUN_CONF}
    for k, v in RUN_CONF.items():
        spark.conf.set(k, v)
    try:
        yield spark
    finally:
        for k, v in old.items():
            spark.conf.unset(k) if v is None else spark.conf.set(k, v)


@dataclass
class RunContext:
    """What dataset steps get from the runner: the session, a scratch dir and checkpointing."""

    spark: Any
    scratch: Path
    partitions: int
    blank_lines: int = 0
    _n: int = 0

    def checkpoint(self, df, name: str, local: bool = False):
        """Write `df` to scratch Parquet and read it back: cuts lineage, so upstream never reruns.

        `local=True` keeps it in executor storage instead (small, short-lived frames such as the
        edge lists of connected-component rounds).
        """
        if local:
            return df.localCheckpoint(eager=True)
        self._n += 1
        path = self.scratch / f"{self._n:03d}-{name}"
        df.coalesce(self.partitions).write.mode("overwrite").parquet(path.as_uri())
        return self.spark.read.parquet(path.as_uri())


@dataclass
class CurateResult:
    manifest: Manifest
    funnel: list[dict[str, Any]]
    out: Path
    stats: dict[str, Any] = field(default_factory=dict)


def _stages(pipeline: Pipeline) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Group steps: runs of record steps fuse into one stage; each dataset step is its own stage."""
    stages: list[tuple[str, list[tuple[str, Any]]]] = []
    for name, step in zip(pipeline.step_names(), pipeline.steps, strict=True):
        runnable = DatatroveStep(step) if is_datatrove_step(step) else step
        if isinstance(runnable, DatasetStep):
            stages.append(("dataset", [(name, runnable)]))
        elif stages and stages[-1][0] == "record":
            stages[-1][1].append((name, runnable))
        else:
            stages.append(("record", [(name, runnable)]))
    return stages


def _line_numbers(ctx, parsed, summary):
    """Turn (file, split, index-in-split) into true line numbers and the ordered `_node` key."""
    from pyspark.sql import functions as F

    counts = [r for r in summary if r["records"]]  # (file_index, block) groups of records, not faults only
    ctx.blank_lines = sum(int(r["blank"]) for r in counts)
    offsets, running = [], {}
    for r in sorted(counts, key=lambda r: (r["file_index"], r["block"])):
        start = running.get(r["file_index"], 0)
        offsets.append((r["file_index"], r["block"], start))
        running[r["file_index"]] = start + r["n"] + 1
    table = ctx.spark.createDataFrame(offsets or [(0, 0, 0)], "file_index int, block long, offset long")
    # Parquet rows come with their row index and a single block, so the same formula serves both.
    df = parsed.join(F.broadcast(table), ["file_index", "block"], "left")
    df = df.withColumn("line", (F.coalesce(F.col("offset"), F.lit(0)) + F.col("idx") + 1).cast("long"))
    return df.withColumn("_node", F.shiftleft(F.col("file_index").cast("long"), LINE_BITS) + F.col("line"))


def _read(ctx: RunContext, pipeline: Pipeline, inputs: list[InputSet], relpaths: list[str]):
    """The numbered records of every input, and the faults of the files that could not be read to their end."""
    from pyspark.sql import functions as F

    parsed = parsed_frame(ctx.spark, inputs, relpaths, pipeline.text_field, pipeline.max_doc_bytes,
                          pipeline.warc_split_bytes)
    parsed = ctx.checkpoint(parsed, "parsed")
    summary = read_summary(parsed)  # one job for both the faults and the line numbers
    faults = file_faults(parsed, [u for inp in inputs for u in inp.files], relpaths, summary)
    # the line-number join is a broadcast of a few rows per file: cheaper to redo than to store
    return _line_numbers(ctx, parsed.filter(F.col("status") != FAULT), summary), faults


def check_faults(faults: list[tuple[str, FileFault]], strict: bool) -> None:
    """With `strict`, the first file fault fails the run in one line (files named as in the ledger)."""
    if strict and faults:
        name, f = faults[0]
        more = f" (and {len(faults) - 1} more)" if len(faults) > 1 else ""
        raise ForgeError(f"{name}: {f.reason} ({f.detail}){more}; --strict stops on a bad input file, "
                         "run without it to quarantine the file and keep the rest")


def _run_stage(ctx: RunContext, kind: str, steps: list[tuple[str, Any]], live):
    from pyspark.sql import functions as F

    if kind == "record":
        out = live.mapInArrow(fused_mapper(steps), STAGED_DDL)
    else:
        name, step = steps[0]
        drops = step.drops(ctx, live).select("_node", "reason", "cluster_id")
        out = (live.join(drops, "_node", "left")
               .withColumn("decision", F.when(F.col("reason").isNull(), "kept").otherwise("dropped"))
               .withColumn("step", F.when(F.col("reason").isNull(), None).otherwise(F.lit(name))))
    out = out.select(*WORK_COLUMNS, "step", "decision", "reason", "cluster_id")
    return ctx.checkpoint(out, "-".join(n.replace("#", "_") for n, _ in steps)[:80])


def check_local_inputs(inputs: list[str]) -> None:
    """Fail in a second on a mistyped local path, before Spark starts (URIs are checked by Spark)."""
    for p in inputs:
        if "://" not in str(p) and not Path(p).exists():
            raise ForgeError(f"--input {p}: no such file or directory")


def run_pipeline(pipeline: Pipeline, inputs: list[str], out: str | Path, spark=None, fmt: str | None = None,
                 progress: Progress | None = None, overwrite: bool = False,
                 strict: bool | None = None) -> CurateResult:
    """Curate `inputs` into the dataset directory `out` (atomically, with ledger and manifest).

    Args:
        pipeline: the steps and options (see `curation.Pipeline`).
        inputs: JSONL/Parquet/WARC files or directories, engine dataset dirs, or any Spark-readable URI.
        out: the output dataset directory (a local or shared-mount path).
        fmt: force "jsonl", "parquet" or "warc" instead of detecting from file names.
        overwrite: replace a curated dataset already in `out` that has another id.
        strict: fail on the first input file that cannot be read to its end (default: `pipeline.strict`)
            instead of quarantining it and going on; nothing is written then.
    """
    check_local_inputs(inputs)
    with claim_output(out, "curated", verb="curate", overwrite=overwrite, inputs=inputs,
                      config=pipeline.config()) as claim:
        return _run(claim, pipeline, inputs, out, spark, fmt, progress, strict)


def _run(claim: Claim, pipeline: Pipeline, inputs: list[str], out: str | Path, spark, fmt: str | None,
         progress: Progress | None, strict: bool | None) -> CurateResult:
    from dataforge.core.spark import get_spark

    say = progress or (lambda _step, _records: None)
    spark = spark or get_spark()
    out = Path(out).absolute()
    resolved = [resolve_input(spark, p, fmt) for p in inputs]
    relpaths = [inp.display(u, len(resolved) > 1) for inp in resolved for u in inp.files]
    strict = pipeline.strict if strict is None else strict
    faults = [(inp.display(f.uri, len(resolved) > 1), f) for inp in resolved for f in inp.faults]
    check_faults(faults, strict)
    for step in pipeline.steps:
        step.prepare(spark) if not is_datatrove_step(step) else None
    # Small inputs get few partitions (task overhead dominates); large ones up to the shuffle setting.
    total = sum(i.total_bytes for i in resolved)
    partitions = max(2, min(int(spark.conf.get("spark.sql.shuffle.partitions")), math.ceil(total / (16 << 20))))
    stages = _stages(pipeline)
    with claim.atomic_dir() as tmp, tuned(spark):
        ctx = RunContext(spark, tmp / "_work", partitions)
        say("read", None)
        numbered, read_faults = _read(ctx, pipeline, resolved, relpaths)
        check_faults(read_faults, strict)
        faults = sorted(faults + read_faults, key=lambda nf: nf[0])
        live = numbered.filter("status = 'ok'").select(*WORK_COLUMNS)
        # counted only for a progress display: a count of checkpointed Parquet reads one column
        count = (lambda df: df.count()) if progress else (lambda df: None)
        stage_outs, records = [], count(live)
        for kind, steps in stages:
            say(", ".join(n for n, _ in steps), records)
            staged = _run_stage(ctx, kind, steps, live)
            stage_outs.append(staged)
            live = staged.filter("decision = 'kept'").select(*WORK_COLUMNS)
            records = count(live)
        say("write", records)
        manifest, funnel, stats = finish_outputs(ctx, tmp, pipeline, resolved, relpaths, numbered, stage_outs,
                                                 live, faults)
        write_card(tmp, manifest)  # README.md: Hub configs for data, ledger, dropped, quarantine
        manifest.write(tmp)
    return CurateResult(manifest=manifest, funnel=funnel, out=out, stats=stats)
