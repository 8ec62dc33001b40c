"""`forge generate`: load the spec, plan walks, run them on Spark, commit the dataset atomically.

Layout of the output directory:
    data/part-NNNNN.parquet        records of the sinks' kind (dataforge.core.records), lineage in `metadata`;
                                   data/<layout>/ when they come in several layouts (e.g. preference
                                   pairs as strings and as conversations)
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
from dataforge.core.records import ddl, row_layout, schema_of
from dataforge.core.records.remote import is_uri, uri_files
from dataforge.lineage import STOPPED_DDL
from dataforge.seedplan import plan_seeds, seed_files
from dataforge.spec import GenerateSpec, load_generate_spec, resolve_seeds
from dataforge.summary import RunStats

STOPPED_COLUMNS = ["id", "node", "reason", "detail", "metadata"]
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


def _frame(spark, rdd, kinds: str | tuple[str, ...], layout: str | None = None):
    """The rows of some kinds (record, dropped, quarantined, bad_seed, call); records of one layout."""
    cols = STOPPED_COLUMNS if layout is None else schema_of(layout).names
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    rows = rdd.filter(lambda kv, k=kinds: kv[0] in k).map(lambda kv: json.loads(kv[1]))
    if layout is not None:
        rows = rows.filter(lambda r, lay=layout: row_layout(r) == lay)
    return spark.createDataFrame(rows.map(lambda r: tuple(r.get(c) for c in cols)),
                                 STOPPED_DDL if layout is None else ddl(schema_of(layout)))


def _layouts(rdd, kind: str) -> list[str]:
    """The record layouts present (none when the run kept nothing: the graph's kind then names the one)."""
    return sorted(rdd.filter(lambda kv: kv[0] == "record").map(lambda kv: row_layout(json.loads(kv[1])))
                  .distinct().collect()) or [kind]


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
    if isinstance(spec_seeds, (str, Path)) and not is_uri(spec_seeds):  # a URI cannot hold a local output
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
    base = spec.path.parent
    if is_uri(spec.seeds):  # a dataset on a remote filesystem: listed here, read by executors
        seeds: Any = spec.seeds
        described = {"files": [[u.rsplit("/", 1)[-1], size] for u, size in uri_files(spec.seeds)]}
    elif isinstance(spec.seeds, (str, Path)):  # a dataset: executors read it; the driver lists its files
        root = seed_paths(spec.seeds, base)[0]
        seeds = spec.seeds
        described = {"files": [[Path(f).name, Path(f).stat().st_size] for f in seed_files(root)]} \
            if root.exists() else {"path": str(spec.seeds)}
    else:  # a list or a taxonomy: small, made here
        seeds = resolve_seeds(spec.seeds, graph, base=base, backend_spec=backend_spec)
        described = {"count": len(seeds), "digest": stable_hash([s.model_dump(mode="json") for s in seeds])}
    walks = opts.walks or spec.walks  # None: one walk per seed
    model_id = backend_spec.build().model_id  # cheap: backends load their model on first use
    cache_root = str(CallCache(opts.cache).root) if opts.use_cache else None
    config = {"graph": graph.describe(), "walks": walks, "seed": opts.seed, "model": model_id,
              "backend": backend_spec.kind, "emit_calls": opts.emit_calls, "seeds": described}
    # Claimed before Spark starts; the same config over an existing output reruns to the same id (a no-op).
    with claim_output(out, "generated", verb="generate", overwrite=opts.overwrite, config=config,
                      inputs=seed_paths(spec.seeds, spec.path.parent)) as claim:
        spark = get_spark(opts.master, app_name=f"forge-generate-{graph.name}")
        planned = plan_seeds(spark, graph, seeds, base=base, walks=walks, seed=opts.seed)
        partitions = opts.partitions or default_partitions(spark.sparkContext, planned.walks)
        rdd, stats = run_partitions(spark, graph, planned, backend_spec=backend_spec, seed=opts.seed,
                                    cache_root=cache_root, emit_calls=opts.emit_calls, partitions=partitions,
                                    progress=opts.progress)
        manifest = _commit(claim, spark, rdd, stats, spec, graph, planned, config)
        ledgers = sorted({str(Path(n.ledger).expanduser().absolute()) for n in graph.nodes.values()
                          if isinstance(getattr(n, "ledger", None), str)})  # rephrase exposure ledgers
        compact_stores(spark, cache_root, ledgers)
        return manifest, stats


def compact_stores(spark, cache_root: str | None, ledgers: list[str]) -> int:
    """Compact the call cache and exposure ledgers on executors, a task per key shard; returns the
    segments merged."""
    from dataforge.cache import CallCache
    from dataforge.core.segments import SHARDS, SegmentStore

    def one(shard: str) -> int:
        merged = CallCache(cache_root).compact(shard=shard) if cache_root else 0
        return merged + sum(SegmentStore(root).compact(shard) for root in ledgers)

    if cache_root is None and not ledgers:
        return 0
    shards = [f"{i:x}" for i in range(SHARDS)]
    return sum(spark.sparkContext.parallelize(shards, len(shards)).map(one).collect())


def _commit(claim, spark, rdd, stats: RunStats, spec: GenerateSpec, graph, planned, config: dict) -> Manifest:
    num_files = max(1, -(-planned.walks // WALKS_PER_FILE))
    try:
        with claim.atomic_dir() as tmp:
            layouts = _layouts(rdd, graph.record_kind)
            for layout in layouts:  # one schema per folder, as curation writes them
                dest = tmp / "data" if len(layouts) == 1 else tmp / "data" / layout
                write_parquet(_frame(spark, rdd, "record", layout), dest, num_files)
            write_parquet(_frame(spark, rdd, "dropped"), tmp / "dropped", num_files)
            write_parquet(_frame(spark, rdd, ("quarantined", "bad_seed")), tmp / "quarantine", num_files)
            if config["emit_calls"]:
                write_parquet(_frame(spark, rdd, "call", "chat"), tmp / "calls", num_files)
            t = stats.totals
            content = _content_digest(rdd, ["record", "dropped", "quarantined", "bad_seed", "call"])
            walks = t["walks"]
            counts = {"seeds": planned.seeds, "bad_seeds": content["bad_seed"][0], "walks": walks,
                      "records": t["records"], "dropped": t["dropped"], "quarantined": t["quarantined"],
                      "llm_calls": t["llm_calls"], "cache_hits": t["cache_hits"]}
            if walks != t["records"] + t["dropped"] + t["quarantined"]:
                raise ForgeError(f"walk accounting broke: {planned.walks} walks for {planned.seeds} seeds, "
                                 f"totals {dict(t)}")
            extra = {"record_kind": graph.record_kind, "layouts": layouts, "summary": stats.to_json(),
                     "dropped": stats.reasons("dropped"), "quarantined": stats.reasons("quarantined"),
                     "backend_instances": t["backend_loads"],
                     "executors": stats.to_json()["executors"],
                     "partitions": t["partitions"]}
            parents = _parents(spec.seeds, spec.path.parent)
            dataset_id = stable_hash({"kind": "generated", "parents": parents, "config": config, "rows": content})
            manifest = Manifest.build(tmp, "generated", config, parents=parents, counts=counts, extra=extra,
                                      id=dataset_id)
            write_card(tmp, manifest)  # README.md: Hub configs for data, dropped, quarantine, calls
            stats.save_funnel_png(tmp / FUNNEL_PNG, graph.topological(), f"{graph.name}: walks through each node")
            manifest.write(tmp)
    finally:
        rdd.unpersist()
    return manifest
