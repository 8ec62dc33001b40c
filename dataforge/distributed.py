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
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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

KINDS = ("record", "dropped", "quarantined", "call")


def partition_runner(graph: Graph, backend_spec: BackendSpec, seed: int, cache_root: str | None,
                     emit_calls: bool, round_size: int):
    """The function each partition runs: plan rows in, (kind, json) rows out, then one stats row."""

    def run(index: int, rows: Iterator[str]) -> Iterator[tuple[str, str]]:
        raw = [json.loads(r) for r in rows]
        stats = RunStats()
        if raw:
            loads = backend_loads()
            backend = backend_for(backend_spec)
            seeds = {r["seed_id"]: graph.source.model_validate_json(r["seed"]) for r in raw}
            plans = [WalkPlan(r["id"], r["key"], r["seed_id"], r["index"], tuple(r["path"])) for r in raw]
            cache = CallCache(cache_root) if cache_root else None
            engine = Engine(graph, backend, seed=seed, cache=cache, emit_calls=emit_calls, round_size=round_size)
            try:
                result = engine.run(list(seeds.values()), plans)
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
        stats.totals["partitions"] += 1
        stats.executors[f"{socket.gethostname()}:{os.getpid()}"]["partitions"] += 1
        yield "stats", json.dumps(stats.to_json())

    return run


@contextmanager
def spark_progress(spark, total_walks: int, enabled: bool):
    """A rich progress bar of finished partitions (Spark tasks), polled from the status tracker."""
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    tracker, stop = spark.sparkContext.statusTracker(), threading.Event()
    with Progress(TextColumn("[bold]generate[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(f"{total_walks} walks, partitions", total=None)

        def poll() -> None:
            while not stop.wait(0.5):
                done = total = 0
                for sid in tracker.getActiveStageIds():
                    info = tracker.getStageInfo(sid)
                    if info is not None:
                        done, total = done + info.numCompletedTasks, total + info.numTasks
                if total:
                    bar.update(task, completed=done, total=total)

        t = threading.Thread(target=poll, daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()
            t.join()
            got = bar.tasks[0].total or 1
            bar.update(task, completed=got, total=got)


def run_partitions(spark, graph: Graph, planned: PlannedWalks, *, backend_spec: BackendSpec, seed: int,
                   cache_root: str | None, emit_calls: bool, partitions: int, round_size: int = 512,
                   progress: bool = False) -> tuple[Any, RunStats]:
    """Run the planned walks on Spark; returns the persisted (kind, json) RDD (with the quarantined
    seeds as kind `bad_seed`) and the merged statistics."""
    from pyspark import StorageLevel

    n = max(1, min(partitions, planned.walks))
    fn = partition_runner(graph, backend_spec, seed, cache_root, emit_calls, round_size)
    out = planned.plans.repartition(n).mapPartitionsWithIndex(fn)
    out = out.union(planned.bad_seeds.map(lambda r: ("bad_seed", r)))
    out.persist(StorageLevel.MEMORY_AND_DISK)
    with spark_errors(), spark_progress(spark, planned.walks, progress):
        stats_rows = out.filter(lambda kv: kv[0] == "stats").map(lambda kv: kv[1]).collect()
    stats = RunStats()
    for s in stats_rows:
        stats.merge(RunStats.from_json(json.loads(s)))
    return out, stats
