"""Autoregressive chunked rephrasing: chunk k of every document is rephrased in one batched round,
with the rephrase of chunk k-1 in its prompt; the pieces are stitched into one document.

The core takes `generate(prompts, rows, round) -> [(text, finish_reason)]` (`rows[i]`: the document
prompt i belongs to; `round`: the chunk number), so the graph node, whose calls go through the
engine's cache with a seed per walk and chunk, and direct use share one implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.rephrase.chunking import TokenCounter, chunk_text
from dataforge.rephrase.styles import RephraseStyle

# One round: chat prompts, the document of each, the round number -> (text, finish_reason) per prompt.
Generate = Callable[[list[list[dict[str, str]]], list[int], int], list[tuple[str, str]]]
FRAME_TOKENS = 256  # the system prompt, the style instruction and the frame around the texts


@dataclass(slots=True)
class Rephrasing:
    """One document's rephrase: source chunks, their rephrases (same order) and how each call ended."""

    chunks: list[str]
    rephrased: list[str] = field(default_factory=list)
    finish: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The stitched document: rephrased chunks joined as paragraphs."""
        return "\n\n".join(p.strip() for p in self.rephrased if p.strip())

    @property
    def truncated(self) -> list[int]:
        """Indices of chunks whose rephrase hit the token limit."""
        return [i for i, f in enumerate(self.finish) if f == "length"]


def check_budget(chunk_tokens: int, max_tokens: int, context_tokens: int) -> None:
    """A chunk prompt holds the chunk, the previous rephrase (<= max_tokens) and the frame, and the
    reply needs max_tokens more: all of it must fit the model's context."""
    need = chunk_tokens + 2 * max_tokens + FRAME_TOKENS
    if need > context_tokens:
        raise ForgeError(f"rephrase: chunk_tokens ({chunk_tokens}) + 2 x max_tokens ({max_tokens}) + "
                         f"{FRAME_TOKENS} = {need} exceeds the model context ({context_tokens}); lower them")


def rephrase_documents(texts: Sequence[str], style: RephraseStyle, generate: Generate, *, chunk_tokens: int,
                       count: TokenCounter | None = None) -> list[Rephrasing]:
    """Rephrase every document in `style`, chunk by chunk, all documents advancing together.

    Args:
        texts: the source documents.
        generate: one batched round of chat completions (see `Generate`).
        chunk_tokens: the chunk budget in the model's tokens.
        count: a token counter (default: the embedded model's tokenizer).
    """
    results = [Rephrasing(chunk_text(t, chunk_tokens, count)) for t in texts]
    rounds = max((len(r.chunks) for r in results), default=0)
    for k in range(rounds):
        active = [i for i, r in enumerate(results) if k < len(r.chunks)]
        prompts = [style.messages(results[i].chunks[k], results[i].rephrased[k - 1] if k else "") for i in active]
        replies = generate(prompts, active, k)
        for i, prompt, (text, finish) in zip(active, prompts, replies, strict=True):
            r = results[i]
            r.rephrased.append(text.strip())
            r.finish.append(finish)
            r.calls.append({"prompt": prompt, "reply": text})
    return results
