"""Generation in one process (no Spark): the Python API behind tests, notebooks and the benchmark."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from dataforge.backends.base import Backend
from dataforge.backends.registry import BackendSpec, backend_for
from dataforge.cache import CallCache
from dataforge.engine import Engine, RunResult, seed_id_of
from dataforge.graph import Graph
from dataforge.structs import Struct
from dataforge.walk import plan_walks


def generate(graph: Graph, seeds: Sequence[Struct], *, walks: int | None = None, seed: int = 0,
             backend: Backend | BackendSpec | None = None, cache: CallCache | str | Path | None = None,
             use_cache: bool = True, emit_calls: bool = False, round_size: int = 512,
             on_batch: Callable[[int], None] | None = None) -> RunResult:
    """Plan `walks` walks (default: one per seed) and run them here.

    Args:
        backend: a backend, a spec (built once per process), or None for the embedded default.
        cache: the call cache directory (default `dataforge.cache.default_cache_root()`).
        use_cache: False calls the model for every call and stores nothing.
    Example:
        result = generate(graph, seeds, walks=20, seed=1); print(result.stats.line())
    """
    if backend is None or isinstance(backend, BackendSpec):
        backend = backend_for(backend or BackendSpec())
    store = None
    if use_cache:
        store = cache if isinstance(cache, CallCache) else CallCache(cache)
    plans = plan_walks(graph, [seed_id_of(s) for s in seeds], walks or len(seeds), seed)
    try:
        return Engine(graph, backend, seed=seed, cache=store, emit_calls=emit_calls,
                      round_size=round_size).run(seeds, plans, on_batch)
    finally:
        if store is not None and store is not cache:  # a cache the caller passed stays theirs to close
            store.close()
