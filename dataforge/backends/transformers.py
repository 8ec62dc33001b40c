"""The default backend: a local HF causal LM through `transformers` (CPU or CUDA).

Prompts are grouped into batches of `batch_size`, left-padded, and decoded together; each row is
sampled from its own seeded generator, so a reply does not depend on the batch it ran in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dataforge.backends.base import (
    Backend,
    Completion,
    Prompt,
    Sampling,
    cut_at_stop,
    row_seed,
    with_reasoning,
)
from dataforge.backends.sampler import GrammarCache, RowSampler
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file
from dataforge.core.models import resolve_llm


def pick_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


class TransformersBackend(Backend):
    """Batched generation with `transformers`, left padding, per-row seeds and optional JSON grammars.

    Args:
        model: `embedded` (the packaged SmolLM2) or a local HF folder.
        device: `auto` (CUDA when present), `cpu`, `cuda`, `cuda:1`...
        dtype: `auto` (bfloat16 on CUDA, float32 on CPU) or a torch dtype name.
        batch_size: prompts decoded together.
        threads: CPU threads for torch (None keeps torch's default, which honours OMP_NUM_THREADS).
        reasoning: split a `<think>` block off each reply into `Completion.reasoning`, as an
            OpenAI-compatible server with a reasoning parser does (see `split_reasoning`).
    Example:
        llm = TransformersBackend("embedded", batch_size=8)
        llm.generate([[{"role": "user", "content": "Name a colour."}]], Sampling(max_tokens=8))
    """

    kind = "transformers"

    def __init__(self, model: str = "embedded", device: str = "auto", dtype: str = "auto",
                 batch_size: int = 16, threads: int | None = None, reasoning: bool = False):
        self.path = Path(resolve_llm(model))
        self.device = pick_device(device)
        self.dtype = dtype if dtype != "auto" else ("bfloat16" if self.device.startswith("cuda") else "float32")
        self.batch_size = max(1, int(batch_size))
        self.threads = threads
        self._model = self._tokenizer = self._grammars = None
        self.reasoning = bool(reasoning)
        # Split replies are other cache entries than whole ones.
        self._model_id = (f"transformers/{self.path.name}-{sha256_file(self.path / 'config.json')[:8]}@{self.dtype}"
                          + ("+reasoning" if self.reasoning else ""))

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def supports_json_schema(self) -> bool:  # type: ignore[override]
        return GrammarCache.available()

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        if self.threads:
            torch.set_num_threads(self.threads)
        # trust_remote_code stays off: only architectures transformers itself implements are loaded.
        tok = AutoTokenizer.from_pretrained(self.path)
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        if tok.chat_template is None:
            raise ForgeError(f"{self.path}: the tokenizer has no chat template; use raw string prompts "
                             "or a chat model")
        model = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, self.dtype))
        self._model = model.to(self.device).eval()
        self._tokenizer = tok
        self._grammars = GrammarCache(tok, model.config.vocab_size, [tok.eos_token_id])

    def render(self, prompt: Prompt) -> str:
        """The exact text the model sees for a prompt (the chat template applied for chats)."""
        self._load()
        if isinstance(prompt, str):
            return prompt
        return self._tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=False)

    def _chunks(self, prompts: list[Prompt]) -> list[list[int]]:
        # Similar lengths share a batch: less padding (a row's reply is batch-independent anyway).
        self._load()
        lengths = [len(self._tokenizer(self.render(p), add_special_tokens=False).input_ids) for p in prompts]
        order = sorted(range(len(prompts)), key=lambda i: (lengths[i], i))
        return [order[s:s + self.batch_size] for s in range(0, len(order), self.batch_size)]

    def _generate(self, prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        self._load()
        return self._batch([self.render(p) for p in prompts], prompts, params)

    def _batch(self, texts: list[str], prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        import torch
        from transformers import GenerationConfig, LogitsProcessorList

        tok, model = self._tokenizer, self._model
        enc = tok(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        matchers: list[Any] = []
        for p in params:
            if p.json_schema is not None and not self.supports_json_schema:
                raise ForgeError("json_schema needs the xgrammar package: pip install xgrammar")
            matchers.append(self._grammars.matcher(p.json_schema) if p.json_schema is not None else None)
        prompt_len = enc["input_ids"].shape[1]
        sampler = RowSampler([row_seed(p, q) for p, q in zip(params, prompts, strict=True)],
                             [p.temperature for p in params], [p.top_p for p in params],
                             [p.max_tokens for p in params], matchers, prompt_len, tok.eos_token_id,
                             model.config.vocab_size)
        config = GenerationConfig(max_new_tokens=max(p.max_tokens for p in params), do_sample=False,
                                  eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
        with torch.inference_mode():
            ids = model.generate(**enc, generation_config=config, logits_processor=LogitsProcessorList([sampler]))
        results = []
        for row, p in zip(ids[:, prompt_len:].tolist(), params, strict=True):
            n = row.index(tok.eos_token_id) if tok.eos_token_id in row else len(row)
            text = tok.decode(row[:n], skip_special_tokens=True)
            ended = n < len(row) and n < p.max_tokens
            text, stopped = cut_at_stop(text, p.stop)
            c = Completion(text, "stop" if (ended or stopped) else "length", min(n, p.max_tokens))
            results.append(with_reasoning(c) if self.reasoning else c)
        return results


