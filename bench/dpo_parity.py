"""DPO parity with TRL, and step time against a plain PyTorch DPO loop, on one tiny model and batch.

    python bench/dpo_parity.py                  # CPU, fp32: every loss type
    python bench/dpo_parity.py --steps 30 --pairs 16

For each loss type (sigmoid, ipo, apo_zero) the same policy, the same reference model (the policy with
its weights nudged, so the log-ratios are not zero) and the same preference pairs go through
TRL's `DPOTrainer._compute_loss` (padded chosen/rejected rows) and through this trainer's DPO objective
(pairs packed into rows with intra-document masking, training/dpo.py). It prints the largest absolute
difference of the loss, the reference log-probabilities and every parameter gradient (goal <= 1e-5).
Then it times full optimizer steps (packing, forward, reference forward, loss, backward, AdamW) of the
objective, alone and through the trainer's DeepSpeed engine (ZeRO-1, fp32, CPU accelerator), against a
plain PyTorch loop (padded batch, full logits, log-softmax, the same loss) and prints the median step
times and their ratios (goal: <= 1.10). The objective sends only answer positions through the output
head, where the plain loop builds the full logits tensor.
"""

from __future__ import annotations

import argparse
import copy
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

TINY = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
        "num_attention_heads": 4, "num_key_value_heads": 2}
LOSS_TYPES = ("sigmoid", "ipo", "apo_zero")


def make_pairs(vocab: int, n: int, seed: int = 0) -> list[tuple[list[int], list[int], list[int]]]:
    """(prompt, chosen answer, rejected answer) token lists of varied lengths."""
    rng = random.Random(seed)

    def seq(lo, hi):
        return [rng.randrange(3, vocab) for _ in range(rng.randint(lo, hi))]

    return [(seq(4, 20), seq(2, 24), seq(2, 24)) for _ in range(n)]


def tiny_models(vocab: int, seed: int = 0, config: dict | None = None):
    """(policy, reference): the reference is the policy with every weight nudged by a small noise."""
    from training.model import build_model
    from training.spec import Model

    policy = build_model(Model(config=config or TINY), vocab, 256, "sdpa", seed=seed).float()
    ref = copy.deepcopy(policy)
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    return policy.train(), ref.eval()


def padded_batch(pairs) -> dict[str, torch.Tensor]:
    """TRL's layout: rows [chosen..., rejected...], right-padded, with completion masks."""
    seqs = [(p + c, len(p)) for p, c, _ in pairs] + [(p + r, len(p)) for p, _, r in pairs]
    width = max(len(s) for s, _ in seqs)
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    att, comp = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, (s, k) in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        att[i, :len(s)] = 1
        comp[i, k:len(s)] = 1
    return {"input_ids": ids, "attention_mask": att, "completion_mask": comp}


def trl_trainer(policy, ref, loss_type: str, beta: float, tokenizer_dir: str):
    """A TRL DPOTrainer around `policy` with `ref` as its reference model (no reference precompute)."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    args = DPOConfig(output_dir=tempfile.mkdtemp(prefix="dpo-parity-"), loss_type=[loss_type], beta=beta,
                     report_to=[], use_cpu=True, bf16=False, per_device_train_batch_size=2,
                     disable_dropout=True)
    data = Dataset.from_list([{"prompt": "a", "chosen": " b", "rejected": " c"}] * 2)
    return DPOTrainer(model=policy, ref_model=ref, args=args, train_dataset=data, processing_class=tok)


def packed_rows(pairs, seq_len: int):
    """The pairs as this trainer's loader packs a preference stage: whole pairs into rows of 2 x seq_len.
    Returns (rows, the pair index of each packed pair in row order)."""
    from training.loader import _documents
    from training.masking import pack_rows
    from training.packing import best_fit_decreasing

    pieces = []
    for p, c, r in pairs:
        toks = np.asarray(p + c + p + r, dtype=np.uint32)
        mask = np.asarray([0] * len(p) + [1] * len(c) + [0] * len(p) + [1] * len(r), dtype=np.uint8)
        pieces.append(SimpleNamespace(tokens=toks, loss_mask=mask, chosen_length=len(p) + len(c)))
    bins, left = best_fit_decreasing([(i, len(x.tokens)) for i, x in enumerate(pieces)], 2 * seq_len, len(pieces))
    assert not left
    rows = pack_rows([[d for i in b for d in _documents(pieces[i])] for b in bins], 2 * seq_len)
    return rows, [i for b in bins for i in b]


def our_objective(ref, loss_type: str, beta: float, out: str):
    from training.dpo import DPOObjective
    from training.objective import PackedCausalLM
    from training.spec import DPO

    run = SimpleNamespace(dpo={"dpo": DPO(loss_type=loss_type, beta=beta)}, deepspeed=SimpleNamespace(zero_stage=0))
    obj = DPOObjective(run, [SimpleNamespace(name="dpo", pairs=True)], Path(out))
    obj.enter(PackedCausalLM(ref), 0, is_main=True)  # the reference: a frozen copy of `ref`
    return obj


def our_loss(policy, obj, rows) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean pair loss, summed stats) of one micro-batch through the trainer's objective."""
    from training.masking import model_inputs
    from training.objective import PackedCausalLM

    inputs = model_inputs(rows, "sdpa", "cpu")
    labels = torch.as_tensor(rows.labels)
    s, stats = obj.micro_loss(PackedCausalLM(policy), rows, labels, inputs)
    return s / stats[4].item(), stats


def grads(model) -> dict[str, torch.Tensor]:
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def parity(loss_type: str, pairs, beta: float, tokenizer_dir: str, vocab: int) -> dict[str, float]:
    """Largest absolute differences between TRL and this trainer: loss, reference log-probs, gradients."""
    from training.dpo import pair_index, sequence_sums
    from training.masking import model_inputs

    policy, ref = tiny_models(vocab)
    mine = copy.deepcopy(policy)
    trainer = trl_trainer(policy, copy.deepcopy(ref), loss_type, beta, tokenizer_dir)
    batch = padded_batch(pairs)
    trainer.model.zero_grad()
    trl_loss = trainer._compute_loss(trainer.model, batch, False)
    trl_loss.backward()
    with torch.no_grad():
        ref_c, ref_r = trainer.compute_ref_log_probs(trainer.ref_model, batch)
    with tempfile.TemporaryDirectory() as out:
        obj = our_objective(ref, loss_type, beta, out)
        rows, order = packed_rows(pairs, max(max(len(p) + len(c), len(p) + len(r)) for p, c, r in pairs))
        loss, _ = our_loss(mine, obj, rows)
        loss.backward()
        c, r, width = pair_index(rows.segments)
        with torch.no_grad():
            labels = torch.as_tensor(rows.labels)
            tok_logps, _ = obj.reference(labels=labels, per_token=True, **model_inputs(rows, "sdpa", "cpu"))
            seq = sequence_sums(tok_logps, labels, torch.as_tensor(rows.segments), width)
    ours_ref = torch.stack([seq[c], seq[r]], 1)
    trl_ref = torch.stack([ref_c, ref_r], 1)[order]  # best-fit packing reorders the pairs
    g_trl, g_ours = grads(trainer.model), grads(mine)
    return {"loss_trl": trl_loss.item(), "loss_ours": loss.item(), "loss": abs(trl_loss.item() - loss.item()),
            "ref_logps": float((ours_ref - trl_ref).abs().max()),
            "grad": max(float((g_trl[n] - g_ours[n]).abs().max()) for n in g_ours),
            "grad_scale": max(float(g.abs().max()) for g in g_ours.values())}


def plain_step(policy, ref, opt, batch, beta: float) -> float:
    """A plain PyTorch DPO step (sigmoid): padded rows, full logits, log-softmax, backward, AdamW."""
    ids, att, comp = batch["input_ids"], batch["attention_mask"], batch["completion_mask"]
    labels, mask = ids[:, 1:], comp[:, 1:].float()

    def logps(model):
        logits = model(input_ids=ids, attention_mask=att, use_cache=False).logits[:, :-1].float()
        return (torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1) * mask).sum(-1)

    with torch.no_grad():
        rc, rr = logps(ref).chunk(2)
    pc, pr = logps(policy).chunk(2)
    loss = -torch.nn.functional.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def _engine(policy, out: str):
    """The trainer's DeepSpeed engine (ZeRO-1, fp32, CPU accelerator, no clipping) around `policy`."""
    from training.distributed import init_world
    from training.dsconfig import initialize
    from training.objective import PackedCausalLM
    from training.spec import DeepSpeed, Model, Optimizer, Run

    init_world()
    run = Run(mixture="bench", model=Model(config=TINY), optimizer=Optimizer(lr=1e-4, weight_decay=0.0),
              deepspeed=DeepSpeed(zero_stage=1, precision="fp32", grad_clip=0.0))
    engine, _ = initialize(PackedCausalLM(policy), run, "cpu", Path(out))
    return engine


def step_times(pairs, beta: float, vocab: int, steps: int, config: dict) -> tuple[float, float, float]:
    """Median seconds per optimizer step: (this trainer's objective incl. packing, the same through the
    trainer's DeepSpeed engine, a plain PyTorch loop)."""
    from training.masking import model_inputs

    policy, ref = tiny_models(vocab, config=config)
    other, third = copy.deepcopy(policy), copy.deepcopy(policy)
    opt_a = torch.optim.AdamW(policy.parameters(), lr=1e-4, weight_decay=0.0)
    opt_b = torch.optim.AdamW(other.parameters(), lr=1e-4, weight_decay=0.0)
    seq_len = max(max(len(p) + len(c), len(p) + len(r)) for p, c, r in pairs)
    batch = padded_batch(pairs)
    ours, engine_s, plain = [], [], []
    with tempfile.TemporaryDirectory() as out:
        obj = our_objective(ref, "sigmoid", beta, out)
        engine = _engine(third, out)
        for i in range(steps + 2):
            t0 = time.perf_counter()
            rows, _ = packed_rows(pairs, seq_len)
            loss, _ = our_loss(policy, obj, rows)
            opt_a.zero_grad(set_to_none=True)
            loss.backward()
            opt_a.step()
            t1 = time.perf_counter()
            rows, _ = packed_rows(pairs, seq_len)  # as Trainer._train_step runs one micro-batch
            s, stats = obj.micro_loss(engine, rows, torch.as_tensor(rows.labels), model_inputs(rows, "sdpa", "cpu"))
            engine.backward(s / stats[4].item(), scale_wrt_gas=False)
            engine.step()
            t2 = time.perf_counter()
            plain_step(other, ref, opt_b, batch, beta)
            t3 = time.perf_counter()
            if i >= 2:  # warm-up
                ours.append(t1 - t0)
                engine_s.append(t2 - t1)
                plain.append(t3 - t2)
    return statistics.median(ours), statistics.median(engine_s), statistics.median(plain)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--beta", type=float, default=0.1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from transformers import AutoTokenizer

    from dataforge.core.models import embedded_llm_dir

    tok_dir = str(embedded_llm_dir())
    vocab = len(AutoTokenizer.from_pretrained(tok_dir))
    pairs = make_pairs(vocab, a.pairs)
    print(f"DPO parity vs TRL: tiny Llama {TINY['hidden_size']}x{TINY['num_hidden_layers']}, vocab {vocab}, "
          f"{a.pairs} pairs, beta {a.beta}, fp32 CPU")
    print(f"{'loss_type':<10} {'loss TRL':>12} {'loss ours':>12} {'|d loss|':>10} {'|d ref logp|':>13} "
          f"{'|d grad| max':>13} {'max |grad|':>11}")
    for lt in LOSS_TYPES:
        r = parity(lt, pairs, a.beta, tok_dir, vocab)
        print(f"{lt:<10} {r['loss_trl']:>12.6f} {r['loss_ours']:>12.6f} {r['loss']:>10.2e} {r['ref_logps']:>13.2e} "
              f"{r['grad']:>13.2e} {r['grad_scale']:>11.2e}")
    config = {**TINY, "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4, "num_attention_heads": 8,
              "num_key_value_heads": 4}
    ours, engine, plain = step_times(pairs, a.beta, vocab, a.steps, config)
    print(f"step time (Llama 256x4, {a.pairs} pairs, {torch.get_num_threads()} thread(s), median of {a.steps}): "
          f"plain PyTorch loop {plain * 1e3:.1f} ms; objective + torch AdamW {ours * 1e3:.1f} ms "
          f"(ratio {ours / plain:.3f}); objective through the trainer's DeepSpeed engine {engine * 1e3:.1f} ms "
          f"(ratio {engine / plain:.3f}); goal <= 1.10")


if __name__ == "__main__":
    main()
