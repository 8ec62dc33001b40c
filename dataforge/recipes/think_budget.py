"""Think budgets (Hermes 4's second SFT stage): traces longer than B tokens, cut at exactly B and closed.

A reasoning model that drifts past its budget learns to stop if it is shown its own traces cut at the
budget and closed with `</think>`, followed by its answer. Tokens are counted with the target model's
tokenizer (the model to be trained), not the one that wrote the trace.

    budget = ThinkBudget(tokens=30000, tokenizer="path/to/target-model")
    cut = budget.cut(trace)          # None when the trace fits; else the trace cut at 30000 tokens
    budget.sample(prompt, trace, answer)   # the chat messages of one training sample (or None)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from dataforge.backends.base import THINK_CLOSE, THINK_OPEN
from dataforge.core.errors import ForgeError


@dataclass(frozen=True, slots=True)
class Cut:
    """A trace cut at the budget: its text, and the token counts before and after."""

    text: str
    tokens: int
    original_tokens: int


class ThinkBudget:
    """Cut reasoning traces at `tokens` tokens of `tokenizer` (`embedded` or a local HF folder).

    Args:
        tokens: the budget B (>= 1).
        tokenizer: the target model's tokenizer: `embedded` or a local HF folder (never downloaded).
    """

    def __init__(self, tokens: int, tokenizer: str = "embedded"):
        if not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 1:
            raise ForgeError(f"ThinkBudget.tokens: must be an int >= 1 (got {tokens!r})")
        self.tokens, self.tokenizer_name = tokens, tokenizer

    @cached_property
    def tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        from dataforge.core.models import resolve_llm

        return AutoTokenizer.from_pretrained(str(resolve_llm(self.tokenizer_name)), trust_remote_code=False)

    def count(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def cut(self, trace: str) -> Cut | None:
        """The trace cut at exactly B tokens, or None when it has B tokens or fewer (nothing to teach).

        Decoding the first B tokens can re-encode to a different count where a cut splits a merge (a
        word or a multi-byte character); the cut then steps back a token at a time until the text
        re-encodes to at most B tokens, so the count in the sample is exact.
        """
        ids = self.tokenizer.encode(trace, add_special_tokens=False)
        if len(ids) <= self.tokens:
            return None
        k = self.tokens
        while k > 0:
            text = self.tokenizer.decode(ids[:k], skip_special_tokens=False)
            n = self.count(text)
            if n <= self.tokens:
                return Cut(text, n, len(ids))
            k -= 1
        return Cut("", 0, len(ids))  # never expected: one token always re-encodes to itself or fewer

    def content(self, cut: Cut, answer: str) -> str:
        """The assistant text with the think block inline: the cut trace, `</think>`, then the answer."""
        return f"{THINK_OPEN}\n{cut.text}{THINK_CLOSE}\n\n{answer.strip()}"

    def sample(self, prompt: str, trace: str, answer: str) -> list[dict[str, str]] | None:
        """A chat sample for a trace over budget: the user prompt, then the assistant turn whose
        `reasoning_content` is the cut trace (a chat template closes it with `</think>`) and whose
        content is the answer. None when the trace fits the budget."""
        cut = self.cut(trace)
        if cut is None:
            return None
        return [{"role": "user", "content": prompt},
                {"role": "assistant", "content": answer.strip(), "reasoning_content": cut.text}]
