"""`forge generate`: load the spec, plan walks, run them on Spark, commit the dataset atomically.

Layout of the output directory:
    data/part-NNNNN.parquet        records (text or chat, by the sinks' struct), lineage in `metadata`
    dropped/part-NNNNN.parquet     walks a filter or judge stopped: id, node, reason, detail, metadata
    quarantine/part-NNNNN.parquet  walks that failed (unparseable replies, broken contracts, errors)
    calls/part-NNNNN.parquet       with --emit-calls: every LLM call of a kept walk as a chat record
    manifest.json                  kind `generated`; counts and the per-node summary under `extra`
    funnel.png                     per node: walks in, passed on, dropped and quarantined by reason
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataforge.backends.registry import BackendSpec
from dataforge.core.card import write_card
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.io import write_parquet
from dataforge.core.manifest import Manifest
from dataforge.core.outputs import claim_output
from dataforge.core.records import CHAT_DDL, CHAT_SCHEMA, TEXT_DDL, TEXT_SCHEMA
from dataforge.engine import seed_id_of
from dataforge.lineage import STOPPED_DDL
from dataforge.spec import GenerateSpec, load_generate_spec, resolve_seeds
from dataforge.summary import RunStats
from dataforge.walk import plan_walks

COLUMNS = {"text": TEXT_SCHEMA.names, "chat": CHAT_SCHEMA.names,  # the record contract's columns
           "stopped": ["id", "node", "reason", "detail", "metadata"]}
FUNNEL_PNG = "funnel.png"
WALKS_PER_FILE = 200_000
WALKS_PER_TASK = 20_000  # beyond this, more partitions than task slots (smaller retries on failure)


def task_slots(sc) -> int:
    """How many tasks run at once: local[N] -> N, else Spark's default parallelism (executor cores)."""
    m = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", sc.master)
    if m:
        return (os.cpu_count() or 1) if m.group(1) == "*" else int(m.group(1) or 1)
    return max(1, sc.defaultParallelism)


def default_partitions(sc, walks: int) -> int:
    # One partition per task slot: each partition is one lockstep engine, so fewer, fuller partitions
    # mean bigger batches per LLM call; very large runs are split further.
    return max(1, min(walks, max(task_slots(sc), -(-walks // WALKS_PER_TASK))))


@dataclass
class GenerateOptions:
    """The knobs of one run (CLI flags); only `walks`, `seed` and the model change the output."""

    walks: int | None = None
    seed: int = 0
    backend: BackendSpec | None = None
    master: str | None = None
    partitions: int | None = None
    cache: str | None = None
    use_cache: bool = True
    emit_calls: bool = False
    progress: bool = False
    overwrite: bool = False  # replace an existing generated output of another id


def _frame(spark, rdd, kind: str, layout: str, ddl: str):
    cols = COLUMNS[layout]
    rows = rdd.filter(lambda kv, k=kind: kv[0] == k).map(lambda kv: tuple(json.loads(kv[1]).get(c) for c in cols))
    return spark.createDataFrame(rows, ddl)


def _content_digest(rdd, kinds: list[str]) -> dict[str, list]:
    """Per kind: row count and an order-independent hash of the rows (sum of row hashes mod 2**128).

    Parquet bytes written by Spark can differ between JVMs (parquet-mr lists a column's encodings in
    hash-set order), so the dataset id is computed from the rows themselves: the same rows give the
    same id on a laptop and on a cluster.
    """
    import hashlib

    def fold(kv):
        return kv[0], (1, int(hashlib.sha256(kv[1].encode("utf-8")).hexdigest()[:32], 16))

    sums = dict(rdd.filter(lambda kv: kv[0] in kinds).map(fold)
                .reduceByKey(lambda a, b: (a[0] + b[0], (a[1] + b[1]) % 2**128)).collect())
    return {k: [sums.get(k, (0, 0))[0], f"{sums.get(k, (0, 0))[1]:032x}"] for k in kinds}


def _parents(spec_seeds: Any, base: Path) -> list[str]:
    if isinstance(spec_seeds, (str, Path)):
        p = Path(spec_seeds) if Path(spec_seeds).is_absolute() else base / spec_seeds
        if p.is_dir() and (p / "manifest.json").is_file():
            return [Manifest.read(p).id]
    return []


def seed_paths(spec_seeds: Any, base: Path) -> list[Path]:
    """The seed file a spec reads, if any (an output may not overlap it)."""
    if isinstance(spec_seeds, (str, Path)):
        return [Path(spec_seeds) if Path(spec_seeds).is_absolute() else base / spec_seeds]
    return []


def run_generate(spec_path: str | Path | GenerateSpec, out: str | Path, opts: GenerateOptions
                 ) -> tuple[Manifest, RunStats]:
    """Run a generation spec end to end and commit `out`; returns its manifest and the run's statistics."""
    from dataforge.cache import CallCache
    from dataforge.core.spark import get_spark
    from dataforge.distributed import run_partitions

    spec = spec_path if isinstance(spec_path, GenerateSpec) else load_generate_spec(spec_path)
    graph = spec.graph
    backend_spec = opts.backend or spec.backend or BackendSpec()
    seeds = resolve_seeds(spec.seeds, graph, base=spec.path.parent, backend_spec=backend_spec)
    walks = opts.walks or spec.walks or len(seeds)
    plans = plan_walks(graph, [seed_id_of(s) for s in seeds], walks, opts.seed)  # rejects bad seeds early
    model_id = backend_spec.build().model_id  # cheap: backends load their model on first use
    cache_root = str(CallCache(opts.cache).root) if opts.use_cache else None
    config = {"graph": graph.describe(), "walks": walks, "seed": opts.seed, "model": model_id,
              "backend": backend_spec.kind, "emit_calls": opts.emit_calls,
              "seeds": {"count": len(seeds), "digest": stable_hash([s.model_dump(mode="json") for s in seeds])}}
    # Claimed before Spark starts; the same config over an existing output reruns to the same id (a no-op).
    with claim_output(out, "generated", verb="generate", overwrite=opts.overwrite, config=config,
                      inputs=seed_paths(spec.seeds, spec.path.parent)) as claim:
        spark = get_spark(opts.master, app_name=f"forge-generate-{graph.name}")
        partitions = opts.partitions or default_partitions(spark.sparkContext, walks)
        rdd, stats = run_partitions(spark, graph, plans, seeds, backend_spec=backend_spec, seed=opts.seed,
                                    cache_root=cache_root, emit_calls=opts.emit_calls, partitions=partitions,
                                    progress=opts.progress)
        return _commit(claim, spark, rdd, stats, spec, graph, walks, config), stats


def _commit(claim, spark, rdd, stats: RunStats, spec: GenerateSpec, graph, walks: int, config: dict) -> Manifest:
    num_files = max(1, -(-walks // WALKS_PER_FILE))
    try:
        with claim.atomic_dir() as tmp:
            layout = graph.record_kind
            write_parquet(_frame(spark, rdd, "record", layout, CHAT_DDL if layout == "chat" else TEXT_DDL),
                          tmp / "data", num_files)
            write_parquet(_frame(spark, rdd, "dropped", "stopped", STOPPED_DDL), tmp / "dropped", num_files)
            write_parquet(_frame(spark, rdd, "quarantined", "stopped", STOPPED_DDL), tmp / "quarantine", num_files)
            if config["emit_calls"]:
                write_parquet(_frame(spark, rdd, "call", "chat", CHAT_DDL), tmp / "calls", num_files)
            t = stats.totals
            counts = {"walks": walks, "records": t["records"], "dropped": t["dropped"],
                      "quarantined": t["quarantined"], "llm_calls": t["llm_calls"], "cache_hits": t["cache_hits"]}
            if t["walks"] != walks or walks != t["records"] + t["dropped"] + t["quarantined"]:
                raise ForgeError(f"walk accounting broke: {walks} planned, totals {dict(t)}")
            extra = {"record_kind": layout, "summary": stats.to_json(), "dropped": stats.reasons("dropped"),
                     "quarantined": stats.reasons("quarantined"), "backend_instances": t["backend_loads"],
                     "executors": stats.to_json()["executors"],
                     "partitions": t["partitions"]}
            parents = _parents(spec.seeds, spec.path.parent)
            content = _content_digest(rdd, ["record", "dropped", "quarantined", "call"])
            dataset_id = stable_hash({"kind": "generated", "parents": parents, "config": config, "rows": content})
            manifest = Manifest.build(tmp, "generated", config, parents=parents, counts=counts, extra=extra,
                                      id=dataset_id)
            write_card(tmp, manifest)  # README.md: Hub configs for data, dropped, quarantine, calls
            stats.save_funnel_png(tmp / FUNNEL_PNG, graph.topological(), f"{graph.name}: walks through each node")
            manifest.write(tmp)
    finally:
        rdd.unpersist()
    return manifest
