"""Per-row sampling for batched `transformers` generation.

HF `generate` samples a whole batch from one global random stream, so a row's reply would depend on
the rows beside it. This logits processor samples every row from its own generator (seeded by the
row's call seed and prompt), applies each row's temperature, top-p, token budget and optional JSON
grammar, and hands `generate` a one-hot choice, which greedy decoding then takes as is.
"""

from __future__ import annotations

import json
from typing import Any

import torch

from dataforge.core.errors import ForgeError


class GrammarCache:
    """Compiles JSON schemas to xgrammar grammars once per tokenizer (xgrammar ships with vLLM)."""

    def __init__(self, tokenizer, vocab_size: int, stop_ids: list[int]):
        self._tokenizer, self._vocab, self._stop = tokenizer, vocab_size, stop_ids
        self._compiler = None
        self._compiled: dict[str, Any] = {}

    @staticmethod
    def available() -> bool:
        import importlib.util

        return importlib.util.find_spec("xgrammar") is not None

    def matcher(self, schema: dict[str, Any]):
        import xgrammar as xgr

        if self._compiler is None:
            info = xgr.TokenizerInfo.from_huggingface(self._tokenizer, vocab_size=self._vocab,
                                                      stop_token_ids=self._stop)
            self._compiler = xgr.GrammarCompiler(info)
        key = json.dumps(schema, sort_keys=True)
        if key not in self._compiled:
            try:
                # Compile the schema as written: property order decides the order fields are generated in.
                self._compiled[key] = self._compiler.compile_json_schema(json.dumps(schema),
                                                                         any_whitespace=False)
            except Exception as e:  # xgrammar raises plain RuntimeErrors for bad schemas
                raise ForgeError(f"json_schema cannot be compiled to a grammar: {e}") from e
        return xgr.GrammarMatcher(self._compiled[key])


class RowSampler:
    """A `transformers` logits processor that decides every row's next token on its own.

    Args:
        seeds, temperatures, top_ps, max_tokens: one value per row.
        matchers: an xgrammar matcher per row, or None for free text.
        prompt_len: the padded prompt length (tokens past it are generated ones).
        eos_id: the token that ends a row.
    """

    def __init__(self, seeds: list[int], temperatures: list[float], top_ps: list[float],
                 max_tokens: list[int], matchers: list[Any], prompt_len: int, eos_id: int, vocab: int):
        self.gens = [torch.Generator().manual_seed(s) for s in seeds]
        self.temperature = torch.tensor(temperatures, dtype=torch.float32).unsqueeze(1)
        self.top_p = torch.tensor(top_ps, dtype=torch.float32).unsqueeze(1)
        self.max_tokens = max_tokens
        self.matchers = matchers
        self.prompt_len, self.eos_id, self.vocab = prompt_len, eos_id, vocab
        self.done = [False] * len(seeds)
        self.forced = [False] * len(seeds)  # ended by the token budget, not by the model
        self._bitmask = None

    def _accept_previous(self, input_ids: torch.Tensor, step: int) -> None:
        if step == 0:
            return
        last = input_ids[:, -1].tolist()
        for i, tok in enumerate(last):
            if self.done[i]:
                continue
            if tok == self.eos_id:
                self.done[i] = True
            elif self.matchers[i] is not None and not self.matchers[i].is_terminated():
                self.matchers[i].accept_token(tok)

    def _mask_grammar(self, scores: torch.Tensor) -> torch.Tensor:
        rows = [i for i, m in enumerate(self.matchers) if m is not None and not self.done[i]]
        if not rows:
            return scores
        import xgrammar as xgr

        if self._bitmask is None:
            self._bitmask = xgr.allocate_token_bitmask(len(self.matchers), self.vocab)
        masked = scores.float().cpu()
        for i in rows:
            m = self.matchers[i]
            if m.is_terminated():
                masked[i].fill_(float("-inf"))
                masked[i, self.eos_id] = 0.0
            else:
                m.fill_next_token_bitmask(self._bitmask, i)
                xgr.apply_token_bitmask_inplace(masked[i:i + 1], self._bitmask[i:i + 1])
        return masked.to(scores.device)

    def _choose(self, scores: torch.Tensor) -> torch.Tensor:
        logits = scores.float().cpu()
        greedy = logits.argmax(dim=-1)
        if not bool((self.temperature > 0).any()):
            return greedy
        temp = self.temperature.clamp(min=1e-5)
        probs = torch.softmax(logits / temp, dim=-1)
        sorted_p, order = probs.sort(dim=-1, descending=True)
        cum = sorted_p.cumsum(dim=-1)
        # Keep the smallest prefix whose mass reaches top_p (the first token is always kept).
        sorted_p = sorted_p.masked_fill((cum - sorted_p) >= self.top_p, 0.0)
        cdf = sorted_p.cumsum(dim=-1)
        u = torch.stack([torch.rand(1, generator=g) for g in self.gens]) * cdf[:, -1:]
        pick = torch.searchsorted(cdf, u).clamp(max=cdf.shape[1] - 1)
        sampled = order.gather(1, pick).squeeze(1)
        return torch.where(self.temperature.squeeze(1) > 0, sampled, greedy)

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.prompt_len
        self._accept_previous(input_ids, step)
        chosen = self._choose(self._mask_grammar(scores))
        for i in range(len(self.done)):
            if not self.done[i] and step >= self.max_tokens[i]:
                chosen[i] = self.eos_id
                self.forced[i] = True
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, chosen.to(scores.device).unsqueeze(1), 0.0)
        return out
