"""Rephrasing (Kimi K2 style): a prompt bank of styles, autoregressive chunked rewriting of long
documents, MiniLM fidelity per chunk and document (plus an optional LLM judge), and an exposure cap
per source document across runs, all as DataForge nodes and a graph.

    from dataforge.rephrase import RephraseConfig, rephrase_graph
    graph = rephrase_graph(RephraseConfig(styles=["encyclopedic", "study_notes"], ledger="exposure"))
"""

from dataforge.rephrase.chunked import Rephrasing, rephrase_documents
from dataforge.rephrase.chunking import chunk_text, token_counter
from dataforge.rephrase.exposure import DEFAULT_MAX_EXPOSURE, ExposureLedger, Refusal
from dataforge.rephrase.fidelity import Fidelity, FidelityScorer
from dataforge.rephrase.graph import RephraseConfig, rephrase_graph
from dataforge.rephrase.judge import FaithfulnessJudge
from dataforge.rephrase.nodes import (
    ExposureGate,
    ExposureRecord,
    FidelityNode,
    Rephrased,
    RephraseNode,
    ScoredRephrase,
)
from dataforge.rephrase.styles import STYLES, RephraseStyle, get_style, register_style

__all__ = [
    "DEFAULT_MAX_EXPOSURE", "STYLES", "ExposureGate", "ExposureLedger", "ExposureRecord", "FaithfulnessJudge",
    "Fidelity", "FidelityNode", "FidelityScorer", "Refusal", "RephraseConfig", "RephraseNode", "RephraseStyle",
    "Rephrased", "Rephrasing", "ScoredRephrase", "chunk_text", "get_style", "rephrase_documents",
    "rephrase_graph", "register_style", "token_counter",
]
