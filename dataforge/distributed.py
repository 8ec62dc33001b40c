"""Walks across Spark executors: planned and run per partition, one backend per executor.

Executors read the seeds and plan the walks (`dataforge.seedplan`); each plan travels with its seed
document. Executors run the engine over their partition with the process-wide backend (`backend_for`:
a Python worker builds it once and reuses it for every later partition), appending each finished call
to the shared call cache (its own segments, sealed when the partition ends). Records, dropped and
quarantined walks stay in a persisted RDD for the writers; only statistics reach the driver.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

from dataforge.backends.registry import BackendSpec, backend_for, backend_loads
from dataforge.cache import CallCache
from dataforge.core.errors import ForgeError
from dataforge.core.spark_errors import spark_errors
from dataforge.engine import Engine
from dataforge.graph import Graph
from dataforge.seedplan import PlannedWalks
from dataforge.summary import RunStats
from dataforge.walk import WalkPlan
from dataforge.walk_progress import WalkProgress, reporter

KINDS = ("record", "dropped", "quarantined", "call")


def partition_runner(graph: Graph, backend_spec: BackendSpec, seed: int, cache_root: str | None,
                     emit_calls: bool, round_size: int, progress_to: tuple[str, int] | None = None):
    """The function each partition runs: plan rows in, (kind, json) rows out, then one stats row."""

    def run(index: int, rows: Iterator[str]) -> Iterator[tuple[str, str]]:
        raw = [json.loads(r) for r in rows]
        stats = RunStats()
        send = reporter(progress_to, index)
        if raw:
            loads = backend_loads()
            backend = backend_for(backend_spec)
            seeds = {r["seed_id"]: graph.source.model_validate_json(r["seed"]) for r in raw}
            plans = [WalkPlan(r["id"], r["key"], r["seed_id"], r["index"], tuple(r["path"])) for r in raw]
            cache = CallCache(cache_root) if cache_root else None
            engine = Engine(graph, backend, seed=seed, cache=cache, emit_calls=emit_calls, round_size=round_size)
            done = [0]

            def on_batch(n: int) -> None:
                done[0] += n
                send(done[0], engine.backend.calls, engine.backend.hits)

            try:
                result = engine.run(list(seeds.values()), plans, on_batch)
            except ForgeError as e:  # name the walks: the driver prints this one line
                where = f"walks {plans[0].id}..{plans[-1].id} ({len(plans)} in partition {index})"
                raise ForgeError(f"{where}: {e}") from e
            finally:
                if cache is not None:
                    cache.close()
            stats = result.stats
            built = backend_loads() - loads
            stats.totals["backend_loads"] += built
            stats.executors[f"{socket.gethostname()}:{os.getpid()}"]["backend_loads"] += built
            for kind, rows_out in zip(KINDS, (result.records, result.dropped, result.quarantined, result.calls),
                                      strict=True):
                for row in rows_out:
                    yield kind, json.dumps(row, ensure_ascii=False)
            send(sum(len(p.path) for p in plans), engine.backend.calls, engine.backend.hits, final=True)
        stats.totals["partitions"] += 1
        stats.executors[f"{socket.gethostname()}:{os.getpid()}"]["partitions"] += 1
        yield "stats", json.dumps(stats.to_json())

    return run


def expected_steps(graph: Graph, walks: int) -> int:
    """Node visits the walks will make, from the paths' probabilities (the driver never sees the plans)."""
    from dataforge.walk import enumerate_paths, path_targets

    paths = path_targets(graph) if graph.quotas else enumerate_paths(graph)
    total = sum(paths.values()) or 1.0
    return max(1, round(walks * sum(p * len(path) for path, p in paths.items()) / total))


def run_partitions(spark, graph: Graph, planned: PlannedWalks, *, backend_spec: BackendSpec, seed: int,
                   cache_root: str | None, emit_calls: bool, partitions: int, round_size: int = 512,
                   progress: bool = False) -> tuple[Any, RunStats]:
    """Run the planned walks on Spark; returns the persisted (kind, json) RDD (with the quarantined
    seeds as kind `bad_seed`) and the merged statistics."""
    from pyspark import StorageLevel

    n = max(1, min(partitions, planned.walks))
    host = spark.sparkContext.getConf().get("spark.driver.host", "127.0.0.1")
    bar = WalkProgress(host, planned.walks, expected_steps(graph, planned.walks)) if progress else nullcontext()
    fn = partition_runner(graph, backend_spec, seed, cache_root, emit_calls, round_size,
                          bar.address if progress else None)
    out = planned.plans.repartition(n).mapPartitionsWithIndex(fn)
    out = out.union(planned.bad_seeds.map(lambda r: ("bad_seed", r)))
    out.persist(StorageLevel.MEMORY_AND_DISK)
    with spark_errors(), bar:
        stats_rows = out.filter(lambda kv: kv[0] == "stats").map(lambda kv: kv[1]).collect()
    stats = RunStats()
    for s in stats_rows:
        stats.merge(RunStats.from_json(json.loads(s)))
    return out, stats
