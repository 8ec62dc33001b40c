"""IFThink: verifiable instructions (the 25 IFEval types) and multi-turn augmentation with them.

    from dataforge.ifthink import check, IFThinkConfig, ifthink_graph, ifthink_seeds
    check("punctuation:no_comma", {}, "No commas here.")  # True
    graph = ifthink_graph(IFThinkConfig(turns=3))
"""

# Instruction families register themselves on import; import them before anything reads REGISTRY.
from dataforge.ifthink import case, content, formats, keywords, length, startend  # noqa: F401
from dataforge.ifthink.augment import ConversationPlan, IFThinkConfig, plan_conversation
from dataforge.ifthink.base import REGISTRY, RELATIONS, Instruction
from dataforge.ifthink.conflicts import CONFLICTS, EXTRA_CONFLICTS, conflicts, feasible, infeasibility
from dataforge.ifthink.constraints import Constraint, check, failing
from dataforge.ifthink.graph import ifthink_graph
from dataforge.ifthink.nodes import (
    AssistantTurn,
    Conversation,
    IFThinkChat,
    IFThinkSeed,
    PlanNode,
    VerifyNode,
    ifthink_seeds,
)
from dataforge.ifthink.sampling import MULTI_TURN_POOL, plan_turns, sample_constraints
from dataforge.ifthink.think import answer_of, split_think, with_think
from dataforge.ifthink.verify import TurnFailure, verify_conversation

INSTRUCTION_IDS: tuple[str, ...] = tuple(sorted(REGISTRY))

__all__ = [
    "CONFLICTS", "EXTRA_CONFLICTS", "INSTRUCTION_IDS", "MULTI_TURN_POOL", "REGISTRY", "RELATIONS", "AssistantTurn",
    "Constraint", "Conversation", "IFThinkChat", "IFThinkConfig", "IFThinkSeed", "Instruction", "ConversationPlan", "PlanNode",
    "TurnFailure", "VerifyNode", "answer_of", "check", "conflicts", "failing", "feasible", "ifthink_graph",
    "ifthink_seeds", "infeasibility", "plan_conversation", "plan_turns", "sample_constraints", "split_think",
    "verify_conversation", "with_think",
]
