"""The training objective on packed rows: a summed, chunked cross-entropy over labelled tokens only.

The loss is returned as a sum (with its token count beside it) so the trainer can normalize by the
global batch's labelled tokens: every token weighs the same whatever rank, micro-batch or row it
landed in, which is what makes one rank and two ranks give the same loss, and a packed batch the
same loss as its documents run one by one.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.checkpoint import checkpoint

from training.masking import IGNORE


def _chunk_loss(head: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, softcap: float | None,
                reduction: str = "sum"):
    logits = head(hidden).float()
    if softcap:
        logits = torch.tanh(logits / softcap) * softcap
    return F.cross_entropy(logits, targets, reduction=reduction)


class PackedCausalLM(nn.Module):
    """Wrap an HF causal LM so `forward` returns (summed loss, labelled tokens) for packed rows.

    Only labelled positions reach the output head, in chunks of `chunk_tokens`, so the full
    (tokens x vocab) logits tensor is never built; with more than one chunk each chunk is
    recomputed in backward instead of kept.

    Args:
        model: a transformers `*ForCausalLM`.
        chunk_tokens: labelled tokens per output-head chunk.
    Example:
        loss_sum, n = PackedCausalLM(model)(input_ids=ids, position_ids=pos, labels=labels,
                                            attention_mask=mask)
    """

    def __init__(self, model: nn.Module, chunk_tokens: int = 8192):
        super().__init__()
        self.model = model
        self.chunk_tokens = chunk_tokens

    def forward(self, input_ids, position_ids, labels, per_token: bool = False, **attention):
        """(summed loss, labelled tokens); with `per_token`, (log-probability of each labelled target in
        row-major order, labelled tokens) instead: what a DPO stage sums per sequence (training/dpo.py)."""
        hidden = self.model.base_model(input_ids=input_ids, position_ids=position_ids, use_cache=False,
                                       **attention).last_hidden_state
        hidden = hidden.reshape(-1, hidden.shape[-1])
        labels = labels.reshape(-1)
        keep = labels != IGNORE
        hidden, targets = hidden[keep], labels[keep]
        head = self.model.get_output_embeddings()
        softcap = getattr(self.model.config, "final_logit_softcapping", None)
        n = targets.numel()
        if n == 0:  # a micro-batch of padding: a zero that still touches every weight for ZeRO
            return hidden.sum() * 0.0 + sum(p.sum() for p in head.parameters()) * 0.0, 0
        if per_token:  # several chunks are recomputed in backward, as for the summed loss below
            cuts = [slice(i, i + self.chunk_tokens) for i in range(0, n, self.chunk_tokens)]
            if len(cuts) == 1:
                return -_chunk_loss(head, hidden, targets, softcap, "none"), n
            return -torch.cat([checkpoint(_chunk_loss, head, hidden[c], targets[c], softcap, "none",
                                          use_reentrant=False) for c in cuts]), n
        if n <= self.chunk_tokens:
            return _chunk_loss(head, hidden, targets, softcap), n
        total = hidden.new_zeros((), dtype=torch.float32)
        for start in range(0, n, self.chunk_tokens):
            sl = slice(start, start + self.chunk_tokens)
            total = total + checkpoint(_chunk_loss, head, hidden[sl], targets[sl], softcap, use_reentrant=False)
        return total, n
