"""DataForge: a typed DAG generator for synthetic LLM training data, plus the shared core."""

__version__ = "0.1.0"
