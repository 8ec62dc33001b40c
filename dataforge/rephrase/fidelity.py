"""Fidelity of a rephrase to its source: MiniLM cosine similarity per chunk and per document.

MiniLM reads at most 256 tokens, so a text is embedded as windows of at most `WINDOW_WORDS` words
whose unit vectors are averaged (and renormalized): a chunk or a whole document is then compared
by all of its content, not by its first paragraph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

WINDOW_WORDS = 160  # about 210 MiniLM word pieces for English prose, under its 256-token limit


def windows(text: str, size: int = WINDOW_WORDS) -> list[str]:
    words = text.split()
    return [" ".join(words[i:i + size]) for i in range(0, len(words), size)] or [""]


def _normalize(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


@dataclass(slots=True)
class Fidelity:
    """Scores of one rephrase: a cosine per chunk and one for the whole document."""

    chunks: list[float] = field(default_factory=list)
    document: float = 0.0

    @property
    def min_chunk(self) -> float:
        return min(self.chunks) if self.chunks else self.document

    def to_json(self) -> dict[str, float | list[float]]:
        return {"document": round(self.document, 6), "chunks": [round(c, 6) for c in self.chunks],
                "min_chunk": round(self.min_chunk, 6)}


class FidelityScorer:
    """Embeds source and rephrase chunks with the packaged MiniLM and compares them.

    Args:
        embedder: a `dataforge.core.embeddings.Embedder` (created lazily when None, once per process).
    Example:
        FidelityScorer().score([["Water boils at 100 C."]], [["At 100 C water boils."]])[0].document
    """

    def __init__(self, embedder=None):
        self._embedder = embedder

    @property
    def embedder(self):
        if self._embedder is None:
            from dataforge.core.embeddings import Embedder

            self._embedder = Embedder()
        return self._embedder

    def score(self, sources: Sequence[Sequence[str]], rephrases: Sequence[Sequence[str]]) -> list[Fidelity]:
        """One `Fidelity` per document; `sources[i]` and `rephrases[i]` are its chunks, paired in order."""
        texts: list[str] = []
        spans: list[tuple[int, int]] = []  # window range of every chunk, source chunks then rephrases
        for doc_src, doc_reph in zip(sources, rephrases, strict=True):
            if len(doc_src) != len(doc_reph):
                raise ValueError(f"{len(doc_src)} source chunks but {len(doc_reph)} rephrased chunks")
            for chunk in [*doc_src, *doc_reph]:
                w = windows(chunk)
                spans.append((len(texts), len(texts) + len(w)))
                texts.extend(w)
        vectors = self.embedder.embed(texts) if texts else np.zeros((0, 384), dtype=np.float32)
        out: list[Fidelity] = []
        at = 0
        for doc_src in sources:
            n = len(doc_src)
            src = [vectors[a:b] for a, b in spans[at:at + n]]
            reph = [vectors[a:b] for a, b in spans[at + n:at + 2 * n]]
            at += 2 * n
            chunks = [float(_normalize(s.mean(0)) @ _normalize(r.mean(0))) for s, r in zip(src, reph, strict=True)]
            # The document vector weighs every window equally, so long chunks count for more.
            doc = float(_normalize(np.concatenate(src).mean(0)) @ _normalize(np.concatenate(reph).mean(0))) if n else 0.0
            out.append(Fidelity(chunks, doc))
        return out
