"""Packed rows train each document exactly as if it were alone (fp32, CPU)."""

from __future__ import annotations

import numpy as np
import torch

from training.masking import IGNORE, block_causal_mask, cu_seqlens, model_inputs, pack_rows
from training.objective import PackedCausalLM


def _loss(wrapper, rows):
    return wrapper(labels=torch.as_tensor(rows.labels), **model_inputs(rows, "sdpa", "cpu"))


def test_position_ids_restart_at_each_document_and_labels_stay_inside_it(documents):
    a, b = documents[0], documents[1]
    rows = pack_rows([[(a, None), (b, None)]], seq_len=len(a) + len(b) + 5)
    pos, lab = rows.position_ids[0], rows.labels[0]
    assert list(pos[:len(a)]) == list(range(len(a))) and list(pos[len(a):len(a) + len(b)]) == list(range(len(b)))
    assert lab[len(a) - 1] == IGNORE  # a's last token must not predict b's first
    assert list(lab[:len(a) - 1]) == list(a[1:])
    assert (lab[len(a) + len(b) - 1:] == IGNORE).all()  # b's end and the padding
    assert rows.loss_tokens == len(a) - 1 + len(b) - 1


def test_mask_lets_a_token_see_only_earlier_tokens_of_its_own_document(documents):
    a, b = documents[0][:4], documents[1][:3]
    rows = pack_rows([[(a, None), (b, None)]], seq_len=9)
    m = block_causal_mask(rows.segments)[0, 0]
    assert m[5, 4] and m[5, 5] and not m[5, 3] and not m[4, 5] and not m[2, 5]
    assert m[8, 7] and not m[8, 6]  # padding attends padding only: no empty softmax row
    assert m.sum(-1).min() >= 1


def test_cu_seqlens_split_the_flattened_rows_at_every_document(documents):
    rows = pack_rows([[(documents[0], None), (documents[1], None)], [(documents[2], None)]], seq_len=64)
    cu, longest = cu_seqlens(rows.position_ids)
    n0, n1, n2 = (len(d) for d in documents[:3])
    assert cu.tolist() == [0, n0, n0 + n1, 64, 64 + n2, 128] and cu.dtype == np.int32
    assert longest == max(n0, n1, 64 - n0 - n1, n2, 64 - n2)


def test_packed_loss_equals_mean_loss_of_documents_run_one_by_one(tiny_model, documents):
    wrapper = PackedCausalLM(tiny_model, chunk_tokens=16)  # several loss chunks on purpose
    rows = pack_rows([[(d, None) for d in documents[:3]], [(d, None) for d in documents[3:]]], seq_len=64)
    with torch.no_grad():
        packed_sum, packed_n = _loss(wrapper, rows)
        alone = [_loss(wrapper, pack_rows([[(d, None)]], seq_len=len(d))) for d in documents]
    total = sum(float(s) for s, _ in alone)
    count = sum(n for _, n in alone)
    assert packed_n == count
    assert abs(float(packed_sum) / packed_n - total / count) < 1e-5


def test_packed_gradient_equals_sum_of_per_document_gradients(tiny_model, documents):
    wrapper = PackedCausalLM(tiny_model)
    rows = pack_rows([[(d, None) for d in documents[:3]], [(d, None) for d in documents[3:]]], seq_len=64)
    wrapper.zero_grad()
    _loss(wrapper, rows)[0].backward()
    packed = [p.grad.clone() for p in wrapper.parameters()]
    wrapper.zero_grad()
    for d in documents:
        _loss(wrapper, pack_rows([[(d, None)]], seq_len=len(d)))[0].backward()
    for g_packed, p in zip(packed, wrapper.parameters(), strict=True):
        assert torch.allclose(g_packed, p.grad, atol=1e-5, rtol=1e-4)
    wrapper.zero_grad()


def test_sft_rows_put_loss_only_on_assistant_targets(tiny_model, documents):
    doc = documents[2]
    mask = np.zeros(len(doc), dtype=np.uint8)
    mask[10:20] = 1  # the assistant's span
    rows = pack_rows([[(documents[0], None), (doc, mask)]], seq_len=64)
    start = len(documents[0])
    labelled = np.nonzero(rows.labels[0] != IGNORE)[0]
    sft_part = [i - start for i in labelled if i >= start]
    # position t predicts token t+1: exactly the targets 10..19 of the SFT document carry loss
    assert [t + 1 for t in sft_part] == list(range(10, 20))
    wrapper = PackedCausalLM(tiny_model)
    with torch.no_grad():
        s, n = _loss(wrapper, pack_rows([[(doc, mask)]], seq_len=len(doc)))
        per_token = tiny_model(input_ids=torch.as_tensor(doc[None].astype(np.int64))).logits[0].log_softmax(-1)
    targets = torch.as_tensor(doc[10:20].astype(np.int64))
    expected = -per_token[9:19].gather(1, targets[:, None]).sum()
    assert n == 10 and abs(float(s) - float(expected)) < 1e-4
