"""Sentence embeddings from the packaged all-MiniLM-L6-v2 (mean pooling, unit length), offline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dataforge.core.models import minilm_dir


class Embedder:
    """Embed texts in batches; vectors are L2-normalized, so a dot product is the cosine similarity.

    Args:
        batch_size: texts per forward pass.
        max_length: tokens kept per text (the model was trained on 256-token inputs).
    Example:
        e = Embedder(); v = e.embed(["a cat", "a kitten"]); float(v[0] @ v[1])
    """

    dim = 384

    def __init__(self, batch_size: int = 64, max_length: int = 256, device: str = "cpu"):
        import torch
        from transformers import AutoModel, AutoTokenizer

        path = minilm_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
        self.batch_size, self.max_length, self.device = batch_size, max_length, device
        self._torch = torch

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            enc = self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt").to(self.device)
            with torch.inference_mode():
                hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[start:start + len(batch)] = pooled.cpu().numpy()
        return out

