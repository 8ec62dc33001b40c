"""IFThink: verifiable instructions (the 25 IFEval types) and multi-turn augmentation with them.

    from dataforge.ifthink import check, Constraint, sample_constraints
    check("punctuation:no_comma", {}, "No commas here.")  # True
"""

# Instruction families register themselves on import; import them before anything reads REGISTRY.
from dataforge.ifthink import case, content, formats, keywords, length, startend  # noqa: F401
from dataforge.ifthink.base import REGISTRY, RELATIONS, Instruction
from dataforge.ifthink.conflicts import CONFLICTS, EXTRA_CONFLICTS, conflicts, feasible, infeasibility
from dataforge.ifthink.constraints import Constraint, check, failing
from dataforge.ifthink.sampling import MULTI_TURN_POOL, plan_turns, sample_constraints

INSTRUCTION_IDS: tuple[str, ...] = tuple(sorted(REGISTRY))

__all__ = [
    "CONFLICTS", "EXTRA_CONFLICTS", "INSTRUCTION_IDS", "MULTI_TURN_POOL", "REGISTRY", "RELATIONS", "Constraint",
    "Instruction", "check", "conflicts", "failing", "feasible", "infeasibility", "plan_turns",
    "sample_constraints",
]
