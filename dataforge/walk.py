"""Random walks: which path each walk takes, decided before any LLM call.

A walk is named by (global seed, seed document id, walk index). Its path is drawn from a random
generator seeded by exactly that triple, so the same seed gives the same walks whatever the batch
size and however many Spark partitions run them. With quotas, paths are dealt to walks so the planned
share of each sink or path matches the target exactly (largest remainder), in a fixed order.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash

if TYPE_CHECKING:
    from dataforge.graph import Graph

PATH_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class WalkPlan:
    """One planned walk.

    `id` is the id of the record it produces (it names the graph too); `key` names the walk by
    (global seed, seed id, index) only and seeds its LLM calls, so editing one node of a graph leaves
    the cached calls of the other nodes valid.
    """

    id: str
    key: str
    seed_id: str
    index: int
    path: tuple[str, ...]


def walk_rng(seed: int, seed_id: str, index: int) -> random.Random:
    return random.Random(int(stable_hash([seed, seed_id, index], 16), 16))


def walk_id(graph_id: str, seed: int, seed_id: str, index: int) -> str:
    return stable_hash({"graph": graph_id, "seed": seed, "seed_id": seed_id, "walk": index}, 32)


def walk_key(seed: int, seed_id: str, index: int) -> str:
    return stable_hash({"seed": seed, "seed_id": seed_id, "walk": index}, 32)


def _pick(rng: random.Random, options: list[tuple[str, float]]) -> str:
    total = sum(w for _, w in options)
    x, acc = rng.random() * total, 0.0
    for name, w in options:
        acc += w
        if x < acc:
            return name
    return options[-1][0]


def _options(graph: Graph, node: str, budget: int, to_sink: dict[str, int]) -> list[tuple[str, float]]:
    # Only successors that can still reach a sink within the remaining depth.
    return [(b, w) for b, w in graph.successors(node) if to_sink.get(b, budget + 1) <= budget]


def sample_path(graph: Graph, rng: random.Random) -> tuple[str, ...]:
    """A random path from the source to a sink, choosing each edge by weight."""
    from dataforge.graph import SOURCE

    to_sink, path, node = graph.depth_to_sink(), [], SOURCE
    while node not in graph.sinks:
        node = _pick(rng, _options(graph, node, graph.max_depth - len(path), to_sink))
        path.append(node)
    return tuple(path)


def enumerate_paths(graph: Graph) -> dict[tuple[str, ...], float]:
    """Every source-to-sink path within max_depth, with the probability a weighted walk takes it."""
    from dataforge.graph import SOURCE

    to_sink = graph.depth_to_sink()
    out: dict[tuple[str, ...], float] = {}
    stack = [((), SOURCE, 1.0)]
    while stack:
        path, node, p = stack.pop()
        if node in graph.sinks:
            out[path] = p
            if len(out) > PATH_LIMIT:
                raise ForgeError(f"graph {graph.name}: more than {PATH_LIMIT} paths; quotas need fewer paths")
            continue
        opts = _options(graph, node, graph.max_depth - len(path), to_sink)
        total = sum(w for _, w in opts)
        stack.extend(((*path, b), b, p * w / total) for b, w in opts)
    return out


def check_quotas(graph: Graph, quotas: dict[str, float]) -> dict[str, float]:
    """Validate quotas (all sink names or all paths `a>b>c`, positive, summing to 1)."""
    if not quotas:
        return {}
    paths = {">".join(p) for p in enumerate_paths(graph)}
    by_sink = all(k in graph.sinks for k in quotas)
    for k, v in quotas.items():
        if not (by_sink or k in paths):
            raise ForgeError(f"graph {graph.name}: quota key {k!r} is neither a sink {graph.sinks} nor a path "
                             f"(e.g. {sorted(paths)[:3]}); use one kind of key")
        if not v > 0:
            raise ForgeError(f"graph {graph.name}: quota {k!r} is {v}; quotas must be > 0")
    total = sum(quotas.values())
    if abs(total - 1) > 1e-6:
        raise ForgeError(f"graph {graph.name}: quotas sum to {total:g}, they must sum to 1")
    return dict(sorted(quotas.items()))


def path_targets(graph: Graph) -> dict[tuple[str, ...], float]:
    """The target probability of each path under the graph's quotas."""
    natural = enumerate_paths(graph)
    if all(k in graph.sinks for k in graph.quotas):
        per_sink = Counter()
        for p, w in natural.items():
            per_sink[p[-1]] += w
        return {p: w / per_sink[p[-1]] * graph.quotas[p[-1]] for p, w in natural.items() if p[-1] in graph.quotas}
    return {tuple(k.split(">")): v for k, v in graph.quotas.items()}


def largest_remainder(targets: dict[tuple[str, ...], float], n: int) -> dict[tuple[str, ...], int]:
    exact = {p: n * q for p, q in targets.items()}
    counts = {p: int(v) for p, v in exact.items()}
    rest = n - sum(counts.values())
    for p in sorted(exact, key=lambda p: (-(exact[p] - counts[p]), p))[:rest]:
        counts[p] += 1
    return counts


def plan_walks(graph: Graph, seed_ids: Sequence[str], walks: int, seed: int) -> list[WalkPlan]:
    """Plan `walks` walks spread round-robin over the seeds (walk k of seed i is ordinal k*len+i)."""
    if not seed_ids:
        raise ForgeError(f"graph {graph.name}: no seeds to walk from")
    if len(set(seed_ids)) != len(seed_ids):
        dup = next(s for s, c in Counter(seed_ids).items() if c > 1)
        raise ForgeError(f"seed id {dup!r} appears more than once; seed ids must be unique")
    keys = [(seed_ids[i % len(seed_ids)], i // len(seed_ids)) for i in range(walks)]
    gid = graph.id
    if not graph.quotas:
        return [WalkPlan(walk_id(gid, seed, s, k), walk_key(seed, s, k), s, k, sample_path(graph, walk_rng(seed, s, k)))
                for s, k in keys]
    counts = largest_remainder(path_targets(graph), walks)
    slots = [p for p in sorted(counts) for _ in range(counts[p])]
    order = sorted(range(walks), key=lambda i: stable_hash([seed, *keys[i]], 16))
    paths: list[tuple[str, ...]] = [()] * walks
    for slot, i in zip(slots, order, strict=True):
        paths[i] = slot
    return [WalkPlan(walk_id(gid, seed, s, k), walk_key(seed, s, k), s, k, paths[i]) for i, (s, k) in enumerate(keys)]
