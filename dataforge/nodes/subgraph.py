"""A graph used as one node of a bigger graph.

The inner graph's source type is the node's input and its single sink's output is the node's output.
Each input takes its own inner walk (path drawn from the outer walk's key), and the inner nodes run
in lockstep over the whole batch, so nesting keeps batching. Inner steps appear in the lineage under
the node, and in the statistics as `outer/inner`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataforge.core.errors import ForgeError
from dataforge.nodes.base import Context, Drop, Item, Node, Outcome, Quarantined, WalkStep
from dataforge.walk import sample_path, walk_rng

if TYPE_CHECKING:
    from dataforge.graph import Graph


class GraphNode(Node):
    """Wraps a `Graph` with one sink as a node (see `Graph.as_node`).

    Example:
        inner = Graph("qa", Document, [ask, answer]); outer = Graph("big", Document, [inner.as_node(), grade])
    """

    kind = "graph"

    def __init__(self, graph: Graph, name: str):
        if len(graph.sinks) != 1:
            raise ForgeError(f"graph {graph.name}: only a graph with one sink can be a node "
                             f"(it has {graph.sinks})")
        sink = graph.nodes[graph.sinks[0]]
        super().__init__(name, graph.source, sink.output, requires=graph.source_guarantees,
                         guarantees=sink.guarantees)
        self.graph = graph
        self.calls_llm = any(n.calls_llm for n in graph.nodes.values())  # type: ignore[misc]

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        from dataforge.engine import EngineContext, WalkState, advance

        if not isinstance(ctx, EngineContext):
            raise ForgeError(f"node {self.name}: a graph node runs inside the engine")
        states = []
        for it in items:
            key = f"{it.key}/{self.name}"
            # The inner path depends only on the outer walk and this node: batch- and partition-independent.
            path = sample_path(self.graph, walk_rng(0, key, 0))
            states.append(WalkState(key, path, it.value, walk=it.walk))  # the same walk of the same run
        advance(self.graph, states, ctx.nested(f"{self.name}/"))
        out: list[Outcome] = []
        for s in states:
            info: dict[str, Any] = {"subgraph": self.graph.name, "path": list(s.path), "steps": s.steps}
            if s.status == "done":
                out.append(WalkStep(s.value, info, s.calls))
            elif s.status == "dropped":
                out.append(Drop(s.reason, f"in {s.node}: {s.detail}".rstrip(": "), info))
            else:
                out.append(Quarantined(s.reason, f"in {s.node}: {s.detail}".rstrip(": "), info))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "graph": self.graph.describe()}
