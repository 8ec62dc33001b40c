"""The rephrasing graph: seed documents -> exposure gate -> one rephrase node per style (walks pick a
style by weight) -> MiniLM fidelity -> optional LLM judge -> exposure record (the sink)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from dataforge.backends.base import Sampling
from dataforge.core.errors import ForgeError
from dataforge.core.spec import SpecModel
from dataforge.graph import SOURCE, Graph
from dataforge.rephrase.exposure import DEFAULT_MAX_EXPOSURE
from dataforge.rephrase.judge import FaithfulnessJudge
from dataforge.rephrase.nodes import ExposureGate, ExposureRecord, FidelityNode, RephraseNode
from dataforge.rephrase.styles import RephraseStyle, get_style
from dataforge.structs import Document


class RephraseConfig(SpecModel):
    """A rephrasing run.

    Args:
        styles: built-in style names or `RephraseStyle`s; each walk uses one, picked by `weights`.
        weights: relative weight per style name (default: equal).
        ledger: the exposure ledger directory; runs that share it share the cap.
        max_exposure: kept rephrases per source document over all runs sharing the ledger.
        chunk_tokens: chunk budget (tokens of `tokenizer`).
        sampling: sampling of each chunk call; `max_tokens` must hold a chunk's rephrase.
        context_tokens: the model's context (SmolLM2: 8192).
        min_fidelity / min_chunk_fidelity: MiniLM cosine thresholds (document / any chunk).
        judge: also grade each chunk with the LLM; `judge_threshold` is the lowest mean score kept (1-5).
        allow_truncated: keep rephrases whose chunk calls hit max_tokens.
    Example:
        RephraseConfig(styles=["encyclopedic", "study_notes"], ledger="datasets/exposure")
    """

    styles: tuple[str | RephraseStyle, ...] = ("encyclopedic", "question_answer", "study_notes", "lecture")
    weights: dict[str, float] = Field(default_factory=dict)
    ledger: str
    max_exposure: int = Field(DEFAULT_MAX_EXPOSURE, ge=0)
    chunk_tokens: int = Field(1024, ge=16)
    sampling: Sampling = Sampling(max_tokens=1400, temperature=0.7, top_p=0.95)
    context_tokens: int = 8192
    tokenizer: str = "embedded"
    min_fidelity: float = Field(0.75, ge=-1, le=1)
    min_chunk_fidelity: float = Field(0.5, ge=-1, le=1)
    judge: bool = False
    judge_threshold: float = Field(3.0, ge=1, le=5)
    judge_sampling: Sampling = Sampling(max_tokens=64, temperature=0.0)
    allow_truncated: bool = False

    @field_validator("styles")
    @classmethod
    def _styles(cls, v: tuple) -> tuple:
        if not v:
            raise ValueError("give at least one style")
        names = [s.name if isinstance(s, RephraseStyle) else s for s in v]
        if len(set(names)) != len(names):
            raise ValueError(f"styles repeat a name: {names}")
        return tuple(get_style(s) if isinstance(s, str) else s for s in v)

    @field_validator("ledger")
    @classmethod
    def _ledger(cls, v: str) -> str:
        if not v.strip() or "\x00" in v:
            raise ValueError("ledger must be a directory path")
        # Resolved on the driver: executors may start in another working directory.
        return str(Path(v).expanduser().absolute())


def rephrase_graph(config: RephraseConfig, name: str = "rephrase") -> Graph:
    """Build the rephrasing graph for `config` (checked before any call, like every graph).

    Example:
        graph = rephrase_graph(RephraseConfig(styles=["lecture", "dialogue"], ledger="exposure"))
    """
    styles = [s for s in config.styles if isinstance(s, RephraseStyle)]
    unknown = sorted(set(config.weights) - {s.name for s in styles})
    if unknown:
        raise ForgeError(f"rephrase weights name styles not in the run: {unknown}")
    gate = ExposureGate(config.ledger, config.max_exposure)
    rephrasers = [RephraseNode(s, chunk_tokens=config.chunk_tokens, sampling=config.sampling,
                               context_tokens=config.context_tokens, tokenizer=config.tokenizer,
                               allow_truncated=config.allow_truncated) for s in styles]
    fidelity = FidelityNode(config.min_fidelity, config.min_chunk_fidelity)
    record = ExposureRecord(config.ledger)
    nodes = [gate, *rephrasers, fidelity]
    edges: list[tuple] = [(SOURCE, gate.name)]
    edges += [(gate.name, r.name, config.weights.get(s.name, 1.0)) for r, s in zip(rephrasers, styles, strict=True)]
    edges += [(r.name, fidelity.name) for r in rephrasers]
    last = fidelity.name
    if config.judge:
        judge = FaithfulnessJudge(config.judge_threshold, sampling=config.judge_sampling)
        nodes.append(judge)
        edges.append((last, judge.name))
        last = judge.name
    nodes.append(record)
    edges.append((last, record.name))
    return Graph(name, Document, nodes, edges=edges, max_depth=len(nodes))
