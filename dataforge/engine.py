"""The walk engine: walks advance in lockstep, so all pending calls of one node form one batch.

Each walk's path is planned up front (`dataforge.walk`). The engine visits the graph's nodes once in
topological order; when it reaches a node, every walk whose path goes through it is already waiting
there, so the node runs once over all of them (the backend splits that into `batch_size` chunks).
Contracts are enforced on every value: a broken precondition or postcondition quarantines the walk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dataforge.backends.base import Backend, Completion, Prompt, Sampling
from dataforge.backends.registry import BackendSpec
from dataforge.cache import CachedBackend, CallCache
from dataforge.contracts import convert
from dataforge.core.errors import ForgeError, one_line
from dataforge.core.hashing import stable_hash
from dataforge.graph import Graph
from dataforge.nodes.base import Drop, Item, Quarantined, WalkContext, WalkStep
from dataforge.structs import Struct
from dataforge.summary import RunStats
from dataforge.walk import WalkPlan


def seed_id_of(value: Struct) -> str:
    """A seed's id: its `id` field when it has one, else a content hash."""
    sid = getattr(value, "id", None)
    return str(sid) if sid not in (None, "") else stable_hash(value.model_dump(mode="json"), 32)


class EngineContext:
    """The `Context` nodes see: cached batched generation, call seeds, per-node call counts."""

    def __init__(self, backend: CachedBackend, seed: int, stats: RunStats, prefix: str = "",
                 others: dict[int, CachedBackend] | None = None):
        self.backend, self.seed, self.stats, self.prefix = backend, seed, stats, prefix
        self.model_id = backend.model_id
        self.supports_json_schema = bool(backend.supports_json_schema)
        self.others = others if others is not None else {}  # a node's own backends, built once per run

    def backend_for(self, backend: Backend | BackendSpec | None) -> CachedBackend:
        """The run's backend, or a node's own one (a spec is built once) behind the same call cache."""
        if backend is None:
            return self.backend
        if id(backend) not in self.others:
            inner = backend.build() if isinstance(backend, BackendSpec) else backend
            self.others[id(backend)] = CachedBackend(inner, self.backend.cache)
        return self.others[id(backend)]

    def model_of(self, backend: Backend | BackendSpec | None = None) -> str:
        return self.backend_for(backend).model_id

    def generate(self, node: str, prompts: Sequence[Prompt], params: Sequence[Sampling],
                 backend: Backend | BackendSpec | None = None) -> list[Completion]:
        target = self.backend_for(backend)
        calls, hits = target.calls, target.hits
        out = target.generate(list(prompts), list(params))
        st = self.stats.node(self.prefix + node)
        st["llm_calls"] += target.calls - calls
        st["cache_hits"] += target.hits - hits
        return out

    def call_seed(self, key: str, node: str, attempt: int | str = 0) -> int:
        return int(stable_hash([self.seed, key, node, attempt], 15), 16)

    def nested(self, prefix: str) -> EngineContext:
        return EngineContext(self.backend, self.seed, self.stats, self.prefix + prefix, self.others)


@dataclass(slots=True)
class WalkState:
    """A walk in flight: its plan, current value, lineage so far and how it ended."""

    key: str
    path: tuple[str, ...]
    value: Struct
    pos: int = 0
    steps: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    status: str = "active"  # active | done | dropped | quarantined
    node: str = ""
    reason: str = ""
    detail: str = ""
    walk: WalkContext | None = None

    def stop(self, status: str, node: str, reason: str, detail: str = "") -> None:
        self.status, self.node, self.reason, self.detail = status, node, reason, detail


def advance(graph: Graph, states: list[WalkState], ctx: EngineContext,
            on_batch: Callable[[int], None] | None = None) -> None:
    """Run every active walk to its end, one batched call per node (in topological order)."""
    for name in graph.topological():
        batch = [s for s in states if s.status == "active" and s.path[s.pos] == name]
        if not batch:
            continue
        node, st = graph.nodes[name], ctx.stats.node(ctx.prefix + name)
        st["in"] += len(batch)
        ready: list[WalkState] = []
        items: list[Item] = []
        for s in batch:
            try:
                value = convert(s.value, node.input)
            except ValidationError as e:
                _quarantine(s, st, ctx.prefix + name, "bad_input", one_line(e))
                continue
            broken = [p.name for p in node.requires if not p(value)]
            if broken:
                _quarantine(s, st, ctx.prefix + name, "precondition", f"{broken[0]} is false for the input")
                continue
            ready.append(s)
            items.append(Item(s.key, value, s.walk))
        outcomes = node.run(items, ctx) if items else []
        if len(outcomes) != len(items):
            raise ForgeError(f"node {name}: returned {len(outcomes)} outcomes for {len(items)} inputs")
        for s, it, o in zip(ready, items, outcomes, strict=True):
            step = {"node": name, "kind": node.kind, "input": it.value.model_dump(mode="json")}
            if isinstance(o, WalkStep):
                broken = [g.name for g in node.guarantees if not g(o.output)]
                if not isinstance(o.output, node.output) or broken:
                    why = broken[0] if broken else f"output is {type(o.output).__name__}, not {node.output.__name__}"
                    s.steps.append({**step, **o.info, "output": o.output.model_dump(mode="json")})
                    _quarantine(s, st, ctx.prefix + name, "postcondition", why)
                    continue
                s.steps.append({**step, **o.info, "output": o.output.model_dump(mode="json")})
                s.calls.extend({"node": ctx.prefix + name, **c, "info": o.info} for c in o.calls)
                s.value, s.pos = o.output, s.pos + 1
                st["out"] += 1
                if s.pos == len(s.path):
                    s.status = "done"
            elif isinstance(o, Drop):
                s.steps.append({**step, **o.info})
                s.stop("dropped", ctx.prefix + name, o.reason, o.detail)
                st["dropped"][o.reason] += 1
            elif isinstance(o, Quarantined):
                s.steps.append({**step, **o.info})
                _quarantine(s, st, ctx.prefix + name, o.reason, o.detail)
            else:
                raise ForgeError(f"node {name}: returned {type(o).__name__}; expected WalkStep, Drop or Quarantined")
        if on_batch is not None:
            on_batch(len(batch))


def _quarantine(s: WalkState, st: dict[str, Any], node: str, reason: str, detail: str) -> None:
    s.stop("quarantined", node, reason, detail)
    st["quarantined"][reason] += 1


@dataclass
class RunResult:
    """What one engine run produced: rows ready for Parquet, and its statistics."""

    records: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    quarantined: list[dict[str, Any]]
    calls: list[dict[str, Any]]
    stats: RunStats


class Engine:
    """Runs planned walks over seeds with one backend.

    Args:
        graph: the graph.
        backend: any `Backend` (it is wrapped with the call cache).
        seed: the global seed (also the base of every call's seed).
        cache: a `CallCache`, or None to call the model every time.
        round_size: walks held in memory at once (each round is one lockstep pass over the graph).
        emit_calls: also return every LLM call of a finished walk as its own chat (SFT) record.
    Example:
        result = Engine(graph, TransformersBackend(), seed=0).run(seeds, plan_walks(graph, ids, 20, 0))
    """

    def __init__(self, graph: Graph, backend: Backend, *, seed: int = 0, cache: CallCache | None = None,
                 round_size: int = 512, emit_calls: bool = False):
        self.graph, self.seed, self.round_size, self.emit_calls = graph, seed, max(1, round_size), emit_calls
        self.backend = backend if isinstance(backend, CachedBackend) else CachedBackend(backend, cache)

    def run(self, seeds: Sequence[Struct], plans: Sequence[WalkPlan],
            on_batch: Callable[[int], None] | None = None) -> RunResult:
        from dataforge.lineage import finish

        by_id = {seed_id_of(s): s for s in seeds}
        stats = RunStats()
        ctx = EngineContext(self.backend, self.seed, stats)
        out = RunResult([], [], [], [], stats)
        for start in range(0, len(plans), self.round_size):
            round_plans = plans[start:start + self.round_size]
            states = []
            for p in round_plans:
                if p.seed_id not in by_id:
                    raise ForgeError(f"walk {p.id}: seed {p.seed_id!r} is not among the seeds given")
                walk = WalkContext(self.graph.id, self.seed, p.seed_id, p.index, p.id)
                states.append(WalkState(p.key, p.path, by_id[p.seed_id], walk=walk))
            advance(self.graph, states, ctx, on_batch)
            for p, s in zip(round_plans, states, strict=True):
                finish(self, p, s, out)
        t = stats.totals
        t["walks"] += len(plans)
        t["records"] += len(out.records)
        t["dropped"] += len(out.dropped)
        t["quarantined"] += len(out.quarantined)
        t["llm_calls"] += sum(d["llm_calls"] for d in stats.nodes.values())
        t["cache_hits"] += sum(d["cache_hits"] for d in stats.nodes.values())
        if t["walks"] != t["records"] + t["dropped"] + t["quarantined"]:
            raise AssertionError(f"walk accounting broke: {dict(t)}")  # never expected; guards the invariant
        return out
