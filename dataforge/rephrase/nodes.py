"""Rephrasing as DataForge nodes: exposure gate, chunked rephrase, fidelity check, exposure record."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from dataforge.backends.base import Sampling
from dataforge.core.errors import ForgeError
from dataforge.engine import seed_id_of
from dataforge.nodes.base import Context, Item, Node, Outcome, Quarantined, WalkStep
from dataforge.nodes.func import NodeLLM
from dataforge.rephrase.chunked import check_budget, rephrase_documents
from dataforge.rephrase.chunking import token_counter
from dataforge.rephrase.exposure import DEFAULT_MAX_EXPOSURE, ledger_for
from dataforge.rephrase.fidelity import FidelityScorer
from dataforge.rephrase.styles import RephraseStyle, get_style
from dataforge.structs import Document, Struct

log = logging.getLogger("dataforge.rephrase")


class Rephrased(Struct):
    """A document rewritten in one style; `text` is the stitched rephrase (the output record's text)."""

    text_field: ClassVar[str | None] = "text"

    id: str
    source_text: str
    style: str
    text: str
    chunks: list[str]
    rephrased_chunks: list[str]
    truncated_chunks: list[int] = []
    embedding_check: bool = True
    fidelity_threshold: float | None = None


class ScoredRephrase(Rephrased):
    """A rephrase with its fidelity: MiniLM cosine per chunk and per document, and the judge's score."""

    fidelity: float
    chunk_fidelity: list[float]
    judge_score: float | None = None
    judge_chunk_scores: list[float] = []

    def record_metadata(self) -> dict[str, Any]:
        """The summary an output record carries beside its lineage."""
        return {"rephrase": {"source_id": self.id, "style": self.style, "chunks": len(self.chunks),
                             "fidelity": round(self.fidelity, 6),
                             "chunk_fidelity": [round(c, 6) for c in self.chunk_fidelity],
                             "judge_score": self.judge_score, "truncated_chunks": self.truncated_chunks}}


def _run_of(node: Node, it: Item) -> tuple[str, int]:
    """The run an item's walk belongs to (graph id, seed): the exposure ledger's run key."""
    if it.walk is None:
        raise ForgeError(f"node {node.name}: its items carry no walk context; run it inside the engine")
    return it.walk.run


class ExposureGate(Node):
    """Refuses rephrases of documents at their exposure cap (quarantined as `exposure_cap`).

    Walk k of a document in this run (k = 0, 1, ...) is admitted while prior + k < max_exposure,
    with `prior` the rephrases other runs recorded in the ledger.

    Args:
        ledger: the exposure ledger directory shared by the runs that count together.
        max_exposure: rephrases a document may have in all (default 2).
    """

    kind = "exposure_gate"

    def __init__(self, ledger: str, max_exposure: int = DEFAULT_MAX_EXPOSURE, name: str = "exposure_gate"):
        super().__init__(name, Document, Document)
        if max_exposure < 0:
            raise ForgeError(f"max_exposure={max_exposure}: must be >= 0 (0 refuses every document)")
        self.ledger, self.max_exposure = str(ledger), int(max_exposure)

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        ledger = ledger_for(self.ledger)
        out: list[Outcome] = []
        for it in items:
            run = _run_of(self, it)
            doc = seed_id_of(it.value)  # the id walks are named by (a content hash when `id` is empty)
            room = max(0, self.max_exposure - ledger.prior(doc, run))
            # This walk's number among the document's walks, when it is one of the first `room` (a
            # later walk is past the cap anyway).
            k = it.walk.index if it.walk is not None and it.walk.seed_id == doc else None
            ordinal = k if k is not None and k < room else None
            refusal = ledger.decide(doc, ordinal, self.max_exposure, run)
            if refusal is None:
                out.append(WalkStep(it.value, {"exposure": {"ordinal": ordinal, "cap": self.max_exposure}}))
            else:
                log.warning(refusal.message)
                out.append(Quarantined("exposure_cap", refusal.message,
                                      {"exposure": {"prior": refusal.prior, "cap": refusal.cap}}))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "ledger": self.ledger, "max_exposure": self.max_exposure}


class RephraseNode(Node):
    """Rephrases documents in one style, chunk by chunk (each prompt holds the previous chunk's rephrase).

    Args:
        style: a built-in style name or a `RephraseStyle`.
        chunk_tokens: the chunk budget, in tokens of `tokenizer`.
        sampling: sampling of each chunk call (`max_tokens` bounds a chunk's rephrase).
        context_tokens: the model's context; chunk prompts are checked to fit it when the node is built.
        tokenizer: the model whose tokenizer measures chunks (`embedded` or a local HF folder).
        allow_truncated: keep rephrases with chunks cut by `max_tokens` (else quarantine `truncated`).
    Example:
        RephraseNode("lecture", chunk_tokens=1024, sampling=Sampling(max_tokens=1400, temperature=0.7))
    """

    kind = "rephrase"
    calls_llm = True

    def __init__(self, style: str | RephraseStyle, *, chunk_tokens: int = 1024, sampling: Sampling | None = None,
                 context_tokens: int = 8192, tokenizer: str = "embedded", allow_truncated: bool = False,
                 name: str | None = None):
        self.style = get_style(style)
        super().__init__(name or f"rephrase_{self.style.name}", Document, Rephrased)
        self.sampling = sampling or Sampling(max_tokens=1400, temperature=0.7, top_p=0.95)
        check_budget(chunk_tokens, self.sampling.max_tokens, context_tokens)
        self.chunk_tokens, self.context_tokens, self.tokenizer = chunk_tokens, context_tokens, tokenizer
        self.allow_truncated = allow_truncated

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        llm = NodeLLM(ctx, self.name, [it.key for it in items])

        def generate(prompts, rows, k):
            return [(c.text, c.finish_reason) for c in llm.generate(prompts, self.sampling, rows=rows, tag=f"chunk{k}")]

        results = rephrase_documents([it.value.text for it in items], self.style, generate,
                                     chunk_tokens=self.chunk_tokens, count=token_counter(self.tokenizer))
        out: list[Outcome] = []
        for it, r in zip(items, results, strict=True):
            info = {"style": self.style.key, "model": ctx.model_id, "sampling": self.sampling.lineage(),
                    "chunks": len(r.chunks), "truncated_chunks": r.truncated}
            if not r.chunks:
                out.append(Quarantined("empty_document", f"document {seed_id_of(it.value)!r} has no text", info))
            elif any(not p for p in r.rephrased):
                empty = [i for i, p in enumerate(r.rephrased) if not p]
                out.append(Quarantined("empty_rephrase", f"chunks {empty} came back empty", info))
            elif r.truncated and not self.allow_truncated:
                out.append(Quarantined("truncated", f"chunks {r.truncated} hit max_tokens="
                                      f"{self.sampling.max_tokens}; raise it or lower chunk_tokens", info))
            else:
                value = Rephrased(id=seed_id_of(it.value), source_text=it.value.text, style=self.style.name, text=r.text,
                                  chunks=r.chunks, rephrased_chunks=r.rephrased, truncated_chunks=r.truncated,
                                  embedding_check=self.style.embedding_check,
                                  fidelity_threshold=self.style.fidelity_threshold)
                out.append(WalkStep(value, info, r.calls))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "style": self.style.model_dump(mode="json"), "style_key": self.style.key,
                "chunk_tokens": self.chunk_tokens, "context_tokens": self.context_tokens,
                "tokenizer": self.tokenizer, "sampling": self.sampling.lineage(),
                "allow_truncated": self.allow_truncated}


_SCORERS: dict[str, FidelityScorer] = {}


def process_scorer() -> FidelityScorer:
    """One MiniLM scorer per process (an executor loads it once, not per record or per batch)."""
    if "minilm" not in _SCORERS:
        _SCORERS["minilm"] = FidelityScorer()
    return _SCORERS["minilm"]


class FidelityNode(Node):
    """Scores each rephrase against its source with MiniLM, per chunk and for the document, and
    quarantines (`low_fidelity`, with the scores) rephrases below the thresholds.

    Args:
        min_document: document cosine below which a rephrase is quarantined (a style's own
            `fidelity_threshold` overrides it; styles with `embedding_check=False` are scored, not gated).
        min_chunk: the lowest cosine any single chunk may have (-1 disables).
    """

    kind = "fidelity"

    def __init__(self, min_document: float = 0.75, min_chunk: float = 0.5, name: str = "fidelity"):
        super().__init__(name, Rephrased, ScoredRephrase)
        self.min_document, self.min_chunk = float(min_document), float(min_chunk)

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        scores = process_scorer().score([it.value.chunks for it in items], [it.value.rephrased_chunks for it in items])
        out: list[Outcome] = []
        for it, f in zip(items, scores, strict=True):
            v = it.value
            threshold = v.fidelity_threshold if v.fidelity_threshold is not None else self.min_document
            info = {"fidelity": {**f.to_json(), "threshold": threshold, "min_chunk": self.min_chunk,
                                 "gated": v.embedding_check}}
            low_doc, low_chunk = f.document < threshold, f.min_chunk < self.min_chunk
            if v.embedding_check and (low_doc or low_chunk):
                what = (f"document {f.document:.3f} < {threshold:g}" if low_doc
                        else f"chunk {f.chunks.index(f.min_chunk)} {f.min_chunk:.3f} < {self.min_chunk:g}")
                out.append(Quarantined("low_fidelity", f"{what}; scores {f.to_json()}", info))
                continue
            data = {**v.model_dump(), "fidelity": f.document, "chunk_fidelity": f.chunks}
            out.append(WalkStep(ScoredRephrase(**data), info))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "embedder": "all-MiniLM-L6-v2", "min_document": self.min_document,
                "min_chunk": self.min_chunk}


class ExposureRecord(Node):
    """Records each kept rephrase in the exposure ledger (the last node of a rephrasing graph)."""

    kind = "exposure_record"

    def __init__(self, ledger: str, name: str = "exposure_record"):
        super().__init__(name, ScoredRephrase, ScoredRephrase)
        self.ledger = str(ledger)

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        ledger = ledger_for(self.ledger)
        for it in items:
            ledger.record(it.value.id, it.key, _run_of(self, it), {"style": it.value.style, "fidelity": round(it.value.fidelity, 6)})
        return [WalkStep(it.value, {"exposure": "recorded"}) for it in items]

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "ledger": self.ledger}
