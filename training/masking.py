"""Packed rows to model inputs: restarting position ids, labels that never cross a document, and the
attention that keeps documents apart (a block-diagonal causal mask on CPU, cu_seqlens on GPU).

A packed row holds several documents (mixture pieces) back to back, then padding. Each document
must train exactly as if it were alone: its positions start at 0, its tokens attend only to earlier
tokens of the same document, and its last token predicts nothing (the next token belongs to another
document). SFT pieces carry a loss mask; a label counts only where its target token is an assistant
token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

IGNORE = -100  # label value the loss skips


@dataclass
class PackedRows:
    """Rows of one micro-batch, as numpy arrays of shape (rows, seq_len).

    Args:
        input_ids: token ids (padding is token 0 and never attended to by a document).
        position_ids: restart at 0 at each document (and at the padding block).
        labels: next token within the same document, IGNORE elsewhere.
        segments: document number within the row, 1-based; 0 marks padding.
    """

    input_ids: np.ndarray
    position_ids: np.ndarray
    labels: np.ndarray
    segments: np.ndarray

    @property
    def loss_tokens(self) -> int:
        return int((self.labels != IGNORE).sum())


def pack_rows(rows: Sequence[Sequence[tuple[np.ndarray, np.ndarray | None]]], seq_len: int) -> PackedRows:
    """Lay out documents `(tokens, loss_mask or None)` row by row.

    Example:
        pack_rows([[(np.array([5, 6, 7]), None), (np.array([8, 9]), None)]], seq_len=6)
    """
    n = max(len(rows), 1)
    ids = np.zeros((n, seq_len), dtype=np.int64)
    pos = np.zeros((n, seq_len), dtype=np.int64)
    labels = np.full((n, seq_len), IGNORE, dtype=np.int64)
    seg = np.zeros((n, seq_len), dtype=np.int32)
    for r, docs in enumerate(rows):
        at = 0
        for d, (tokens, loss_mask) in enumerate(docs, start=1):
            k = len(tokens)
            if at + k > seq_len:
                raise ValueError(f"row {r}: documents total more than seq_len={seq_len} tokens")
            ids[r, at:at + k] = tokens
            pos[r, at:at + k] = np.arange(k)
            seg[r, at:at + k] = d
            target = np.asarray(tokens[1:], dtype=np.int64)
            if loss_mask is not None:
                target = np.where(np.asarray(loss_mask[1:]) > 0, target, IGNORE)
            labels[r, at:at + k - 1] = target
            at += k
        pos[r, at:] = np.arange(seq_len - at)  # the padding block is one more "document" of its own
    return PackedRows(ids, pos, labels, seg)


def block_causal_mask(segments):
    """Boolean (rows, 1, L, L) mask, True where a query may attend a key: same segment, not later.

    Padding (segment 0) attends only to earlier padding, so no softmax row is empty.
    """
    import torch

    seg = torch.as_tensor(segments)
    same = seg[:, :, None] == seg[:, None, :]
    n = seg.shape[-1]
    causal = torch.ones(n, n, dtype=torch.bool, device=seg.device).tril()
    return (same & causal).unsqueeze(1)


def cu_seqlens(position_ids: np.ndarray) -> tuple[np.ndarray, int]:
    """Cumulative sequence starts over the flattened rows, for varlen flash attention.

    A new sequence starts wherever the position id is 0, so each document and each padding block
    is attended alone. Computed on the host, so the GPU never waits for a `.item()`.
    Returns (cu_seqlens int32, max_seqlen).
    """
    flat = np.asarray(position_ids).reshape(-1)
    starts = np.flatnonzero(flat == 0)
    cu = np.concatenate([starts, [flat.size]]).astype(np.int32)
    return cu, int(np.diff(cu).max())


def model_inputs(rows: PackedRows, attention: str, device) -> dict:
    """Keyword arguments for the HF model's forward (without labels) for one micro-batch."""
    import torch

    out = {"input_ids": torch.as_tensor(rows.input_ids, device=device),
           "position_ids": torch.as_tensor(rows.position_ids, device=device)}
    if attention == "flex_attention":
        pass  # transformers derives a document BlockMask from the restarting position ids
    elif attention.startswith("flash_attention"):
        cu, max_len = cu_seqlens(rows.position_ids)
        cu = torch.as_tensor(cu, device=device)
        out.update(cu_seq_lens_q=cu, cu_seq_lens_k=cu, max_length_q=max_len, max_length_k=max_len)
    else:
        out["attention_mask"] = block_causal_mask(torch.as_tensor(rows.segments, device=device))
    return out
