"""The IFThink graph: seed instruction -> plan -> turn_1 -> ... -> turn_T -> verify (the sink)."""

from __future__ import annotations

from dataforge.graph import SOURCE, Graph
from dataforge.ifthink.augment import IFThinkConfig, plan_conversation
from dataforge.ifthink.nodes import AssistantTurn, IFThinkSeed, PlanNode, VerifyNode


def ifthink_graph(config: IFThinkConfig | None = None, name: str = "ifthink") -> Graph:
    """Build the IFThink augmentation graph (edges declared: every turn node has the same struct type).

    Example:
        graph = ifthink_graph(IFThinkConfig(turns=3, max_tokens=256))
        seeds = ifthink_seeds([{"id": "i1", "text": "Describe a lighthouse."}])
    """
    config = config or IFThinkConfig()
    plan_conversation("probe", "probe", config)  # an impossible constraint pool fails here, before any call
    plan = PlanNode(config)
    turns = [AssistantTurn(k, config) for k in range(1, config.turns + 1)]
    verify = VerifyNode(config)
    names = [plan.name, *(t.name for t in turns), verify.name]
    edges = [(SOURCE, names[0]), *zip(names, names[1:], strict=False)]
    return Graph(name, IFThinkSeed, [plan, *turns, verify], edges=edges, max_depth=len(names))
