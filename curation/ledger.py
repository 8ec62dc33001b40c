"""The ledger and the stores beside the data: every input record is accounted for exactly once.

`DIR/ledger/` has one row per input record (`input` = file:line, `id`, `source`, `step`, `decision`
kept/dropped/quarantined, `reason`, `cluster_id` for dedup drops), so kept + dropped + quarantined
= input, always. Dropped records are kept whole under `DIR/dropped/` (any decision can be reversed);
malformed input is kept byte for byte under `DIR/quarantine/`. A WARC record that is no document
(a request, an image response) is dropped at `read` with its reason and has a ledger row only.

A file that could not be read to its end adds one more row: `input` = the file (no line), `step`
read, `decision` quarantined, the file's `reason`, and `records_kept`, the records read from it
before the fault (they have rows of their own). The manifest counts them as `quarantined_files` and
lists them under `extra.quarantined_files`.
"""

from __future__ import annotations

import math
import shutil
from functools import reduce
from pathlib import Path
from typing import Any

from dataforge.core.io import canonicalize, write_parquet
from dataforge.core.manifest import Manifest
from dataforge.core.records import schema_of, spark_schema

LEDGER_COLUMNS = ["input", "id", "source", "step", "decision", "reason", "cluster_id", "records_kept"]
LEDGER_DDL = ("input string, id string, source string, step string, decision string, reason string, "
              "cluster_id string, records_kept long")
DATA_BYTES_PER_FILE = 256 << 20


def _files_frame(spark, relpaths: list[str]):
    return spark.createDataFrame(list(enumerate(relpaths)), "file_index int, file string")


def _with_input(df, files):
    from pyspark.sql import functions as F

    return (df.join(F.broadcast(files), "file_index", "left")
            .withColumn("input", F.concat(F.col("file"), F.lit(":"), F.col("line").cast("string"))))


def _union(frames):
    return reduce(lambda a, b: a.unionByName(b), frames)


def funnel_from_counts(rows: list[tuple[str | None, str, str | None, int]], step_names: list[str]) -> list[dict]:
    """Per-step funnel (in, out, dropped by reason) from ledger counts of (step, decision, reason)."""
    n_in = sum(c for *_, c in rows)
    funnel = []
    for name in ["read", *step_names]:
        reasons: dict[str, int] = {}
        for step, decision, reason, c in rows:
            if step == name and decision != "kept":
                key = reason if decision == "dropped" else f"quarantined:{reason}"
                reasons[key] = reasons.get(key, 0) + c
        dropped = sum(reasons.values())
        funnel.append({"step": name, "in": n_in, "out": n_in - dropped, "dropped": dropped,
                       "reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))})
        n_in -= dropped
    return funnel


def contract_frame(live, layout: str):
    """The kept records of one layout as the contract's Parquet rows (`dataforge.core.records`)."""
    def to_rows(batches):
        import json

        import pyarrow as pa

        from dataforge.core.records import record_to_row

        schema = schema_of(layout)
        for batch in batches:
            rows = [record_to_row({**json.loads(r["record"]), "id": r["id"], "source": r["source"],
                                   "metadata": json.loads(r["metadata"]) if r["metadata"] else {}})[1]
                    for r in batch.to_pylist()]
            yield pa.RecordBatch.from_pylist(rows, schema=schema)

    frame = live.filter(live.layout == layout).select("id", "source", "metadata", "record")
    return frame.mapInArrow(to_rows, spark_schema(layout))


def _fault_rows(spark, faults: list[tuple[str, Any]]):
    rows = [(name, None, name, "read", "quarantined", f.reason, None, f.records_kept) for name, f in faults]
    return spark.createDataFrame(rows, LEDGER_DDL)


def finish_outputs(ctx, tmp: Path, pipeline, inputs, relpaths: list[str], numbered, stage_outs, live,
                   faults: list[tuple[str, Any]] = ()) -> tuple[Manifest, list[dict[str, Any]], dict[str, Any]]:
    """Write data, ledger, dropped and quarantine under `tmp`; return the manifest (not yet written).

    `faults`: (ledger name, `curation.listing.FileFault`) of the files not read to their end.
    """
    from pyspark.sql import functions as F

    from curation.report import save_funnel_png

    spark = ctx.spark
    files = _files_frame(spark, relpaths)
    total_bytes = sum(i.total_bytes for i in inputs)
    n_data = max(1, math.ceil(total_bytes / DATA_BYTES_PER_FILE))
    n_side = max(1, math.ceil(total_bytes / (8 * DATA_BYTES_PER_FILE)))
    null = F.lit(None).cast("string")
    no_count = F.lit(None).cast("long").alias("records_kept")

    read_q = _with_input(numbered.filter("status = 'quarantined'"), files)
    # WARC records that are no documents (requests, images, ...): ledger rows only, the WARC keeps them
    read_d = _with_input(numbered.filter("status = 'dropped'"), files)
    staged = [_with_input(s.filter("decision != 'kept'"), files) for s in stage_outs]
    kept = _with_input(live, files)
    ledger_parts = [
        read_q.select("input", "id", "source", F.lit("read").alias("step"), F.lit("quarantined").alias("decision"),
                      "reason", null.alias("cluster_id"), no_count, "kind", "layout"),
        read_d.select("input", "id", "source", F.lit("read").alias("step"), F.lit("dropped").alias("decision"),
                      "reason", null.alias("cluster_id"), no_count, "kind", "layout"),
        kept.select("input", "id", "source", null.alias("step"), F.lit("kept").alias("decision"),
                    null.alias("reason"), null.alias("cluster_id"), no_count, "kind", "layout"),
        *[s.select(*LEDGER_COLUMNS[:-1], no_count, "kind", "layout") for s in staged],
    ]
    ledger = ctx.checkpoint(_union(ledger_parts), "ledger")  # read twice: counts, then the ledger files
    # one small job for every count the funnel and manifest need, and the layouts of the data
    rows, kinds, kept_layouts = [], {}, set()
    for r in ledger.groupBy("step", "decision", "reason", "kind", "layout").count().collect():
        rows.append((r["step"], r["decision"], r["reason"], r["count"]))
        if r["decision"] == "kept":
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + r["count"]
            kept_layouts.add(r["layout"])
    ledger = ledger.select(*LEDGER_COLUMNS)
    if faults:  # not records: kept out of the counts above, in the ledger beside the records they held
        ledger = ledger.unionByName(_fault_rows(spark, faults))
    # every output is rewritten by pyarrow at the end, in one Spark job (see dataforge.core.io)
    written = write_parquet(ledger, tmp / "ledger", num_files=n_side, key=("input",), canonical=False)

    # `record`: the kind's fields as canonical JSON (the contract's JSON form); `text`: what steps judged
    record_cols = ["input", "id", "source", "kind", "layout", "text", "record", "metadata"]
    if pipeline.keep_dropped:
        dropped = _union([s.filter("decision = 'dropped'").select(*record_cols, "step", "reason", "cluster_id")
                          for s in staged]) if staged else None
        if dropped is not None:
            written += write_parquet(dropped, tmp / "dropped", num_files=n_side, key=("input",), canonical=False)
    quarantine_parts = [read_q.select("input", "id", "source", F.lit("read").alias("step"), "reason", "raw")]
    for s in staged:  # records a step failed on: keep the whole record as JSON bytes
        q = s.filter("decision = 'quarantined'")
        quarantine_parts.append(q.select("input", "id", "source", "step", "reason",
                                         F.to_json(F.struct(*record_cols[1:])).cast("binary").alias("raw")))
    written += write_parquet(_union(quarantine_parts), tmp / "quarantine", num_files=n_side, key=("input",),
                             canonical=False)

    layouts = sorted(kept_layouts)
    for layout in layouts or ["text"]:  # one schema per layout; several layouts sit side by side
        dest = tmp / "data" if len(layouts) <= 1 else tmp / "data" / layout
        written += write_parquet(contract_frame(live, layout), dest, num_files=n_data, key=schema_of(layout).names,
                                 canonical=False)
    canonicalize(spark, written)

    funnel = funnel_from_counts(rows, pipeline.step_names())
    totals = {d: sum(c for _, dd, _, c in rows if dd == d) for d in ("kept", "dropped", "quarantined")}
    blank = ctx.blank_lines
    skipped: dict[str, int] = {}
    for i in inputs:
        for k, v in i.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
    counts = {"input": sum(totals.values()), **totals, "records": totals["kept"], "blank_lines": blank,
              "by_kind": dict(sorted(kinds.items())), "quarantined_files": len(faults),
              "skipped_files": dict(sorted(skipped.items()))}
    quarantined_files = [{"file": name, "reason": f.reason, "records_kept": f.records_kept, "detail": f.detail}
                         for name, f in faults]
    shutil.rmtree(ctx.scratch, ignore_errors=True)  # scratch is not part of the dataset
    save_funnel_png(funnel, tmp / "funnel.png")
    config = {"inputs": [i.path for i in inputs], "formats": [i.fmt for i in inputs], **pipeline.config()}
    parents = sorted({p for i in inputs for p in i.parents})
    manifest = Manifest.build(tmp, "curated", config, parents=parents, counts=counts,
                              extra={"funnel": funnel, "report": "funnel.png", "quarantined_files": quarantined_files})
    return manifest, funnel, {"kinds": kinds}
