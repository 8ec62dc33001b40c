"""Split long documents into chunks that fit a token budget, at paragraph and sentence boundaries.

Paragraphs are kept whole when they fit; a longer paragraph is cut between sentences; a single
sentence longer than the budget (a table row, a formula dump) is cut between words as a last resort.
Every word of the document lands in exactly one chunk, in order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from dataforge.core.errors import ForgeError
from dataforge.ifthink.text import blank_line_paragraphs

TokenCounter = Callable[[Sequence[str]], list[int]]
# Sentence ends inside a paragraph: Latin terminal punctuation then whitespace, or a CJK terminator
# (CJK text puts no space between sentences).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|(?<=[。！？])\s*")
_MAX_TOKENS_PER_CHAR = 4  # byte-level BPE: a character is at most 4 bytes, so at most 4 tokens


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    tokens: int
    new_paragraph: bool  # joined to what precedes it with a blank line (else with a space)


@lru_cache(maxsize=4)
def _tokenizer(model: str):
    from transformers import AutoTokenizer

    from dataforge.core.models import resolve_llm

    return AutoTokenizer.from_pretrained(resolve_llm(model))


def token_counter(model: str = "embedded") -> TokenCounter:
    """Count tokens with the tokenizer of `model` (`embedded` or a local HF folder), in batches."""
    tok = _tokenizer(model)

    def count(texts: Sequence[str]) -> list[int]:
        if not texts:
            return []
        return [len(ids) for ids in tok(list(texts), add_special_tokens=False)["input_ids"]]

    return count


def _split_sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _split_words(text: str, budget: int, count: TokenCounter) -> list[str]:
    """Greedy word packing for a sentence longer than the budget; a spaceless run longer than the
    budget (CJK text, a long URL) is cut between characters and glued back without a space."""
    step = max(1, budget // _MAX_TOKENS_PER_CHAR)
    long_words = [w for w in text.split() if len(w) > step]
    too_long = {w for w, n in zip(long_words, count(long_words), strict=True) if n > budget}
    parts: list[tuple[str, str]] = []  # (piece, separator before it)
    for w in text.split():
        if w in too_long:
            parts.extend((w[i:i + step], " " if i == 0 else "") for i in range(0, len(w), step))
        else:
            parts.append((w, " "))
    pieces, current = [], ""
    for part, sep in parts:
        trial = current + sep + part if current else part
        if current and count([trial])[0] > budget:
            pieces.append(current)
            current = part
        else:
            current = trial
    if current:
        pieces.append(current)
    return pieces


def _units(text: str, budget: int, count: TokenCounter) -> list[_Unit]:
    paragraphs = blank_line_paragraphs(text)
    sizes = count(paragraphs)
    units: list[_Unit] = []
    for paragraph, size in zip(paragraphs, sizes, strict=True):
        if size <= budget:
            units.append(_Unit(paragraph, size, True))
            continue
        sentences = _split_sentences(paragraph)
        first = True
        for sentence, n in zip(sentences, count(sentences), strict=True):
            pieces = [sentence] if n <= budget else _split_words(sentence, budget, count)
            piece_sizes = [n] if n <= budget else count(pieces)
            for piece, m in zip(pieces, piece_sizes, strict=True):
                units.append(_Unit(piece, m, first))
                first = False
    return units


def chunk_text(text: str, max_tokens: int, count: TokenCounter | None = None) -> list[str]:
    """Chunks of at most `max_tokens` tokens (as `count` measures them; a join adds at most one or
    two tokens, covered by a small margin), cut at the largest boundary that fits.

    Example:
        chunk_text(long_doc, max_tokens=1024)  # counts with the embedded model's tokenizer
    """
    if max_tokens < 16:
        raise ForgeError(f"chunk max_tokens={max_tokens}: use at least 16 tokens per chunk")
    count = count or token_counter()
    budget = max_tokens - 2  # room for the separator tokens a join adds
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for unit in _units(text, budget, count):
        sep = "\n\n" if unit.new_paragraph else " "
        if current and used + unit.tokens + 2 > budget:
            chunks.append("".join(current).strip())
            current, used = [], 0
        current.append((sep if current else "") + unit.text)
        used += unit.tokens + (2 if len(current) > 1 else 0)
    if current:
        chunks.append("".join(current).strip())
    return chunks
