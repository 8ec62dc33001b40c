"""DataForge: a typed DAG generator for synthetic LLM training data, plus the shared core.

Structs flow along the edges of a `Graph` of nodes (LLM transforms, judges, functions, filters,
nested graphs); seeded random walks turn seed documents into records, with batched LLM backends,
a call cache, and full lineage. See docs/generator.md.
"""

__version__ = "0.1.0"

from dataforge.backends import Backend, BackendSpec, Completion, Sampling, backend_for  # noqa: E402
from dataforge.cache import CachedBackend, CallCache  # noqa: E402
from dataforge.conditions import (  # noqa: E402
    Predicate,
    at_least,
    at_most,
    matches,
    max_words,
    min_words,
    nonempty,
    one_of,
)
from dataforge.engine import Engine, RunResult  # noqa: E402
from dataforge.graph import SOURCE, Graph  # noqa: E402
from dataforge.nodes import (  # noqa: E402
    Drop,
    FilterNode,
    FunctionNode,
    GraphNode,
    Item,
    JudgeNode,
    LLMNode,
    Node,
    NodeLLM,
    Quarantine,
    Step,
    carry,
)
from dataforge.run import generate  # noqa: E402
from dataforge.spec import GenerateSpec, load_generate_spec, resolve_seeds  # noqa: E402
from dataforge.structs import Chat, Document, Message, Struct  # noqa: E402
from dataforge.summary import RunStats  # noqa: E402
from dataforge.taxonomy import Taxonomy, Topic  # noqa: E402
from dataforge.walk import WalkPlan, plan_walks  # noqa: E402

__all__ = [
    "SOURCE", "Backend", "BackendSpec", "CachedBackend", "CallCache", "Chat", "Completion", "Document", "Drop",
    "Engine", "FilterNode", "FunctionNode", "GenerateSpec", "Graph", "GraphNode", "Item", "JudgeNode", "LLMNode",
    "Message", "Node", "NodeLLM", "Predicate", "Quarantine", "RunResult", "RunStats", "Sampling", "Step",
    "Struct", "Taxonomy", "Topic", "WalkPlan", "__version__", "at_least", "at_most", "backend_for", "carry",
    "generate", "load_generate_spec", "matches", "max_words", "min_words", "nonempty", "one_of", "plan_walks",
    "resolve_seeds",
]
