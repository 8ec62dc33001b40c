"""DataForge: a typed DAG generator for synthetic LLM training data, plus the shared core.

Structs flow along the edges of a `Graph` of nodes (LLM transforms, judges, functions, filters,
nested graphs); seeded random walks turn seed documents into records, with batched LLM backends,
a call cache, and full lineage. See docs/generator.md.
"""

__version__ = "0.1.0"

from dataforge.core.lazy import lazy_exports

# Spark executors import `dataforge.core` for hashing and records; importing the generator's
# engine, graph and backends with it would cost every Python worker a third of a second.
_EXPORTS = {
    "dataforge.backends": ["Backend", "BackendSpec", "Completion", "Sampling", "backend_for"],
    "dataforge.cache": ["CachedBackend", "CallCache"],
    "dataforge.conditions": ["Predicate", "at_least", "at_most", "matches", "max_words", "min_words", "nonempty", "one_of"],
    "dataforge.engine": ["Engine", "RunResult"],
    "dataforge.graph": ["SOURCE", "Graph"],
    "dataforge.nodes": ["BestOfN", "Drop", "FilterNode", "FunctionNode", "GraphNode", "Item", "JudgeNode", "LLMNode", "Node", "NodeLLM", "Quarantined", "WalkContext", "WalkStep", "carry"],
    "dataforge.run": ["generate"],
    "dataforge.spec": ["GenerateSpec", "load_generate_spec", "resolve_seeds"],
    "dataforge.structs": ["Chat", "Document", "Message", "Preference", "PromptCompletion", "Struct"],
    "dataforge.summary": ["RunStats"],
    "dataforge.taxonomy": ["Taxonomy", "Topic"],
    "dataforge.walk": ["WalkPlan", "plan_walks"],
}
__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "SOURCE", "Backend", "BestOfN", "BackendSpec", "CachedBackend", "CallCache", "Chat", "Completion", "Document", "Drop",
    "Engine", "FilterNode", "FunctionNode", "GenerateSpec", "Graph", "GraphNode", "Item", "JudgeNode", "LLMNode",
    "Message", "Node", "NodeLLM", "Predicate", "Preference", "PromptCompletion", "Quarantined", "RunResult", "RunStats", "Sampling", "Struct",
    "Taxonomy", "Topic", "WalkContext", "WalkPlan", "WalkStep", "__version__", "at_least", "at_most",
    "backend_for", "carry",
    "generate", "load_generate_spec", "matches", "max_words", "min_words", "nonempty", "one_of", "plan_walks",
    "resolve_seeds",
]
