"""The graph: nodes joined by edges whose contracts are checked when the graph is built.

Edges are inferred (A -> B when A's output type is exactly B's input type and A guarantees what B
requires) or declared (`edges=[("seed", "ask"), ("ask", "answer", 2.0)]`) and then checked
structurally. Before any LLM call the graph rejects, with one line naming the nodes involved:
a cycle, an edge whose postcondition does not meet the next precondition, a node no walk can reach,
and a node from which no walk can reach a sink (or not within `max_depth`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx

from dataforge.conditions import Predicate
from dataforge.contracts import unmet
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.records import KINDS
from dataforge.nodes.base import Node
from dataforge.structs import Struct, struct_schema

SOURCE = "seed"


class Graph:
    """A typed DAG from a source struct (the seeds) to one or more sinks.

    Args:
        name: names the output (`source` of records is `dataforge:<name>`).
        source: the seed struct type; walks start from a seed of this type.
        nodes: the nodes; names are unique.
        edges: None to infer edges, else `(a, b)` or `(a, b, weight)` pairs (`seed` is the source).
        weights: per-edge weights for inferred edges, `{(a, b): w}` (default 1).
        sinks: node names where walks end (default: the nodes with no outgoing edge).
        max_depth: the most nodes one walk may visit.
        quotas: target shares of walks per sink name or per path (`"ask>answer>grade"`), summing to 1.
    Example:
        graph = Graph("qa", Document, [ask, answer, grade], max_depth=4)
    """

    def __init__(self, name: str, source: type[Struct], nodes: Sequence[Node], *,
                 edges: Sequence[tuple] | None = None, weights: dict[tuple[str, str], float] | None = None,
                 sinks: Sequence[str] | None = None, max_depth: int = 8,
                 quotas: dict[str, float] | None = None, source_guarantees: Sequence[Predicate] = ()):
        if not name or not all(c.isalnum() or c in "_.-" for c in name):
            raise ForgeError(f"graph name {name!r}: use letters, digits, '_', '.' or '-'")
        if not (isinstance(source, type) and issubclass(source, Struct)):
            raise ForgeError(f"graph {name}: source must be a Struct subclass, got {source!r}")
        self.name, self.source, self.max_depth = name, source, int(max_depth)
        self.source_guarantees = list(source_guarantees)
        self.nodes: dict[str, Node] = {}
        for n in nodes:
            if not isinstance(n, Node):
                raise ForgeError(f"graph {name}: {n!r} is not a Node")
            if n.name in self.nodes:
                raise ForgeError(f"graph {name}: two nodes are named '{n.name}'")
            self.nodes[n.name] = n
        if not self.nodes:
            raise ForgeError(f"graph {name}: no nodes")
        self.g = nx.DiGraph()
        self.g.add_node(SOURCE)
        self.g.add_nodes_from(self.nodes)
        self.inferred = edges is None
        self._add_edges(edges, weights or {})
        self._check_cycles()
        self.sinks = self._check_sinks(sinks)
        self._check_reachable()
        self._check_depth()
        kinds = {self.nodes[s].output.kind_of_record() for s in self.sinks}
        if len(kinds) > 1:
            raise ForgeError(f"graph {name}: sinks {self.sinks} make {' and '.join(sorted(kinds))} records; "
                             "make every sink's struct the same record kind")
        if not kinds <= set(KINDS):
            raise ForgeError(f"graph {name}: a sink's record_kind is {sorted(kinds - set(KINDS))[0]!r}; "
                             f"use one of {', '.join(KINDS)}")
        self.record_kind = kinds.pop()
        from dataforge.walk import check_quotas

        self.quotas = check_quotas(self, quotas or {})
        # The graph does not change after this point: describe it once (ids are used per walk).
        self._described = self.describe()
        self._id = stable_hash(self._described, 16)

    # -- building --------------------------------------------------------------------------------------
    def _out(self, a: str) -> tuple[type[Struct], list[Predicate]]:
        if a == SOURCE:
            return self.source, self.source_guarantees
        return self.nodes[a].output, self.nodes[a].guarantees

    def _add_edges(self, edges: Sequence[tuple] | None, weights: dict[tuple[str, str], float]) -> None:
        if edges is None:
            for a in [SOURCE, *self.nodes]:
                out, guar = self._out(a)
                for b, node in self.nodes.items():
                    if a != b and node.input is out and unmet(out, guar, node.input, node.requires) is None:
                        self.g.add_edge(a, b, weight=1.0)
        else:
            for e in edges:
                if len(e) not in (2, 3):
                    raise ForgeError(f"graph {self.name}: edge {e!r} must be (a, b) or (a, b, weight)")
                a, b = e[0], e[1]
                for end in (a, b):
                    if end != SOURCE and end not in self.nodes:
                        raise ForgeError(f"graph {self.name}: edge {a} -> {b} names unknown node '{end}'")
                if b == SOURCE:
                    raise ForgeError(f"graph {self.name}: edge {a} -> seed: nothing may lead into the source")
                out, guar = self._out(a)
                why = unmet(out, guar, self.nodes[b].input, self.nodes[b].requires)
                if why:
                    raise ForgeError(f"graph {self.name}: edge {a} -> {b} does not type-check: {why}")
                self.g.add_edge(a, b, weight=float(e[2]) if len(e) == 3 else 1.0)
        for (a, b), w in weights.items():
            if not self.g.has_edge(a, b):
                raise ForgeError(f"graph {self.name}: weight for {a} -> {b}, which is not an edge")
            self.g[a][b]["weight"] = float(w)
        for a, b, w in self.g.edges(data="weight"):
            if not w > 0:
                raise ForgeError(f"graph {self.name}: edge {a} -> {b} has weight {w}; weights must be > 0")

    def _check_cycles(self) -> None:
        try:
            cycle = nx.find_cycle(self.g)
        except nx.NetworkXNoCycle:
            return
        path = " -> ".join([cycle[0][0]] + [b for _, b in cycle])
        hint = " (edges were inferred from types; declare edges=[...] instead)" if self.inferred else ""
        raise ForgeError(f"graph {self.name}: cycle {path}{hint}")

    def _check_sinks(self, sinks: Sequence[str] | None) -> list[str]:
        ends = [n for n in self.nodes if self.g.out_degree(n) == 0]
        if sinks is None:
            return ends
        for s in sinks:
            if s not in self.nodes:
                raise ForgeError(f"graph {self.name}: sink '{s}' is not a node")
            if self.g.out_degree(s):
                raise ForgeError(f"graph {self.name}: sink '{s}' has outgoing edges to {sorted(self.g.successors(s))}")
        for n in self.nodes:
            if not any(nx.has_path(self.g, n, s) for s in sinks):
                raise ForgeError(f"graph {self.name}: node '{n}' cannot reach a sink ({list(sinks)}): every walk "
                                 "through it would end in a dead end; add an edge or declare it a sink")
        return list(sinks)

    def _check_reachable(self) -> None:
        seen = nx.descendants(self.g, SOURCE)
        for n, node in self.nodes.items():
            if n in seen:
                continue
            feeders = [a for a in [SOURCE, *self.nodes] if a != n and self._out(a)[0] is node.input]
            why = (f"its input {node.input.__name__} is produced by {feeders}, but "
                   f"{unmet(*self._out(feeders[0]), node.input, node.requires) or 'no edge leads to it'}"
                   if feeders else f"no node produces its input {node.input.__name__}")
            raise ForgeError(f"graph {self.name}: node '{n}' cannot be reached by any walk: {why}")

    def _check_depth(self) -> None:
        from_src = nx.single_source_shortest_path_length(self.g, SOURCE)
        to_sink = self.depth_to_sink()
        for n in self.nodes:
            shortest = from_src[n] + to_sink[n] - 1
            if shortest > self.max_depth:
                raise ForgeError(f"graph {self.name}: node '{n}' is on no walk within max_depth={self.max_depth} "
                                 f"(the shortest walk through it visits {shortest} nodes)")

    # -- queries ---------------------------------------------------------------------------------------
    def depth_to_sink(self) -> dict[str, int]:
        """Fewest nodes from each node to a sink, the node itself and the sink included."""
        cached = getattr(self, "_to_sink", None)
        if cached is not None and getattr(self, "_id", None) is not None:
            return cached
        out: dict[str, int] = {}
        for n in reversed(list(nx.topological_sort(self.g))):
            if n in self.sinks:
                out[n] = 1
            else:
                nxt = [out[s] for s in self.g.successors(n) if s in out]
                if nxt:
                    out[n] = min(nxt) + (0 if n == SOURCE else 1)
        self._to_sink = out
        return out

    def successors(self, n: str) -> list[tuple[str, float]]:
        return sorted((b, w) for b, w in ((b, self.g[n][b]["weight"]) for b in self.g.successors(n)))

    def topological(self) -> list[str]:
        """Node names in a fixed topological order (ties broken by name), the source excluded."""
        return [n for n in nx.lexicographical_topological_sort(self.g) if n != SOURCE]

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source.__name__, "source_schema": struct_schema(self.source),
                "nodes": [self.nodes[n].describe() for n in self.topological()],
                "edges": sorted([a, b, w] for a, b, w in self.g.edges(data="weight")),
                "sinks": sorted(self.sinks), "max_depth": self.max_depth, "quotas": self.quotas,
                "record_kind": self.record_kind}

    @property
    def id(self) -> str:
        return self._id

    def as_node(self, name: str | None = None) -> Node:
        """This graph as one node of a bigger graph (it needs exactly one sink)."""
        from dataforge.nodes.subgraph import GraphNode

        return GraphNode(self, name or self.name)

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self.nodes)} nodes, sinks={self.sinks})"
