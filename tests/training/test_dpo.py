"""DPO stages: TRL's losses and gradients exactly, and a tiny model that learns a preference on CPU."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOOD = "sun moon star river tree cloud rain snow".split()
BAD = "iron gear bolt nail wire pipe lock chain".split()


@pytest.mark.parametrize("loss_type", ["sigmoid", "ipo", "apo_zero"])
def test_loss_and_gradients_match_trl(loss_type):
    from bench.dpo_parity import make_pairs, parity
    from dataforge.core.models import embedded_llm_dir

    vocab = 512  # a small head keeps the test fast; TRL's tokenizer only sees its own dummy dataset
    r = parity(loss_type, make_pairs(vocab, 6, seed=1), 0.1, str(embedded_llm_dir()), vocab)
    assert r["loss"] <= 1e-5 * max(1.0, abs(r["loss_trl"]))
    assert r["grad"] <= 1e-5 * max(1.0, r["grad_scale"])
    assert r["grad_scale"] > 1e-3  # the gradients compared are not all zero


def _preference_set(root: Path, n: int) -> Path:
    """Pairs whose chosen answers use one word family and rejected answers another: a learnable pattern."""
    rng = random.Random(5)
    root.mkdir(parents=True)
    with open(root / "pairs.jsonl", "w") as f:
        for i in range(n):
            prompt = f"Item {i}: name " + " ".join(rng.choice(GOOD + BAD) for _ in range(3)) + "."
            f.write(json.dumps({"id": f"pair-{i:04d}", "prompt": prompt,
                                "chosen": " " + " ".join(rng.choice(GOOD) for _ in range(3)),
                                "rejected": " " + " ".join(rng.choice(BAD) for _ in range(3))}) + "\n")
    return root


SPEC = """
from training import DPO, DeepSpeed, Model, Optimizer, Run, Schedule

run = Run(
    name="dpo", mixture={mixture!r}, registry={registry!r},
    model=Model(config={{"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                        "head_dim": 32, "tie_word_embeddings": True}}),
    deepspeed=DeepSpeed(zero_stage=1, micro_batch_size=8, grad_accum=1),
    optimizer=Optimizer(lr=3e-3, weight_decay=0.0),
    schedule=Schedule(kind="wsd", warmup=0.05, min_lr_ratio=0.5),
    dpo={{"prefs": DPO(loss_type="sigmoid", beta=0.5)}},
)
"""


def test_tiny_model_learns_the_preference_and_logs_rewards(spark, tmp_path):
    from dataforge.core.models import embedded_llm_dir
    from mixtures import Mixture, Source, Stage, build_mixture
    from training.metrics import MetricsLog

    src = Source("pairs", path=str(_preference_set(tmp_path / "pairs", 300)), holdout_docs=4)
    mixture = Mixture(name="prefs", tokenizer=str(embedded_llm_dir()), seed=2,
                      stages=[Stage("prefs", tokens=8_000, seq_len=32, weights={src: 1.0})])
    registry = tmp_path / "registry"
    mid = build_mixture(mixture, registry, spark=spark).id
    spec = tmp_path / "spec.py"
    spec.write_text(SPEC.format(mixture=mid, registry=str(registry)))
    out = tmp_path / "run"
    env = {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "DS_ACCELERATOR": "cpu", "TOKENIZERS_PARALLELISM": "false",
           "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, "-m", "jobs.cli", "train", str(spec), "--out", str(out)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, (p.stdout + p.stderr)[-3000:]
    m = MetricsLog(out / "metrics.jsonl").read()
    assert len(m) >= 10 and all(r["stage"] == "prefs" for r in m)
    for r in m:
        assert {"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"} <= set(r)
        assert r["rewards/margins"] == pytest.approx(r["rewards/chosen"] - r["rewards/rejected"], abs=1e-9)
    assert m[0]["rewards/chosen"] == pytest.approx(0.0, abs=1e-6)  # the first step scores the reference itself
    late = [r["rewards/accuracies"] for r in m[-5:]]
    assert sum(late) / len(late) > 0.9, [r["rewards/accuracies"] for r in m]
    assert m[-1]["loss"] < m[0]["loss"]
    assert (out / "reference" / "prefs.safetensors").is_file()
    assert json.loads((out / "run.json").read_text())["dpo"] == {"prefs": {"loss_type": "sigmoid", "beta": 0.5}}


def test_resumed_stage_scores_against_the_saved_stage_start_reference(tmp_path):
    import torch

    from bench.dpo_parity import our_objective, tiny_models

    policy, _ = tiny_models(512)
    first = our_objective(policy, "sigmoid", 0.1, str(tmp_path))  # the stage starts: reference saved
    assert (tmp_path / "reference" / "dpo.safetensors").is_file()
    start = {n: p.clone() for n, p in policy.state_dict().items()}
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(1.0)  # training moved on
    resumed = our_objective(policy, "sigmoid", 0.1, str(tmp_path))  # a resume inside the stage
    for ref in (first.reference.model, resumed.reference.model):
        got = ref.state_dict()
        assert all(torch.equal(got[n], start[n]) for n in start)
        assert not any(p.requires_grad for p in ref.parameters())


def test_per_token_logps_do_not_depend_on_the_head_chunking():
    import torch

    from bench.dpo_parity import make_pairs, packed_rows, tiny_models
    from training.masking import model_inputs
    from training.objective import PackedCausalLM

    policy, _ = tiny_models(512)
    rows, _ = packed_rows(make_pairs(512, 5, seed=2), 48)
    inputs, labels = model_inputs(rows, "sdpa", "cpu"), torch.as_tensor(rows.labels)
    whole, n = PackedCausalLM(policy)(labels=labels, per_token=True, **inputs)
    chunked, m = PackedCausalLM(policy, chunk_tokens=64)(labels=labels, per_token=True, **inputs)
    assert n == m == rows.loss_tokens > 64 and torch.allclose(whole, chunked, atol=1e-5)
    chunked.sum().backward()  # the recomputed chunks carry gradients
    assert all(p.grad is not None for p in policy.get_output_embeddings().parameters())
