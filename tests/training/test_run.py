"""End-to-end runs of `forge train` on real mixtures: stages, schedule, resume, ranks, export, trace.

Every run is a real subprocess (DeepSpeed on its CPU accelerator over gloo, fp32), with one thread
each so runs compared bit for bit use the same CPU kernels. The runs are started together and share
the machine's cores.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from training.distributed import free_port, launch_env

REPO = Path(__file__).resolve().parents[2]
SPEC = """
from training import DeepSpeed, Model, Optimizer, Run, Schedule

run = Run(
    name="t", mixture={mixture!r}, registry={registry!r},
    model=Model(config={{"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                        "head_dim": 32, "tie_word_embeddings": True}}),
    deepspeed=DeepSpeed(zero_stage=1, micro_batch_size=2, grad_accum={grad_accum}),
    optimizer=Optimizer(lr=3e-3),
    schedule=Schedule(kind="wsd", warmup=0.2, decay_stages=["decay"], min_lr_ratio=0.1),
    eval_every=4, save_every=3, rope_theta={{"decay": 40000.0}},
)
"""


def _env(**extra) -> dict[str, str]:
    return launch_env(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", DS_ACCELERATOR="cpu",
                      TOKENIZERS_PARALLELISM="false", **extra)


def _forge(*args: str, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jobs.cli", *args], cwd=REPO, env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _done(p: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == 0, out[-3000:]
    return out


def _metrics(run_dir: Path) -> list[dict]:
    from training.metrics import MetricsLog

    return MetricsLog(run_dir / "metrics.jsonl").read()  # a line cut by SIGKILL ends the list


def _spec(tmp: Path, name: str, mixture: str, registry: Path, grad_accum: int) -> str:
    path = tmp / f"{name}.py"
    path.write_text(SPEC.format(mixture=mixture, registry=str(registry), grad_accum=grad_accum))
    return str(path)


@pytest.fixture(scope="module")
def runs(built_mixtures, tmp_path_factory):
    """Four runs of the same spec on the `pretrain` mixture, started together:
    ref (1 rank, grad_accum 2), killed (SIGKILLed after its step-6 checkpoint, then --resume),
    and two gloo ranks with grad_accum 1 (the same global batch of 4 rows)."""
    registry, ids = built_mixtures
    tmp = tmp_path_factory.mktemp("runs")
    one = _spec(tmp, "one", ids["pretrain"], registry, grad_accum=2)
    two = _spec(tmp, "two", ids["pretrain"], registry, grad_accum=1)
    ref = _forge("train", one, "--out", str(tmp / "ref"))
    killed = _forge("train", one, "--out", str(tmp / "killed"))
    port = str(free_port())
    ranks = [_forge("train", two, "--out", str(tmp / "ranks"), RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2",
                    MASTER_ADDR="127.0.0.1", MASTER_PORT=port) for r in (0, 1)]
    # Kill the second run hard once it has a checkpoint and has trained past it.
    deadline = time.monotonic() + 600
    latest = tmp / "killed" / "checkpoints" / "latest"
    tag = None
    while time.monotonic() < deadline and killed.poll() is None:
        if latest.is_file():
            tag = latest.read_text().strip()
            if len((tmp / "killed" / "metrics.jsonl").read_text().splitlines()) > int(tag.split("-")[1]):
                break
        time.sleep(0.02)
    assert killed.poll() is None, "the run finished before it could be killed; " + killed.communicate()[0][-2000:]
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    killed_lines = len(_metrics(tmp / "killed"))
    resumed = _forge("train", one, "--out", str(tmp / "killed"), "--resume")
    ref_out = _done(ref)
    for p in ranks:
        _done(p)
    _done(resumed)
    return {"tmp": tmp, "ref": tmp / "ref", "killed": tmp / "killed", "ranks": tmp / "ranks",
            "ref_out": ref_out, "killed_lines": killed_lines, "killed_tag": tag, "one": one, "ids": ids, "registry": registry}



def test_run_trains_every_stage_in_order_and_writes_its_run_dir(runs):
    from mixtures import open_mixture

    ref = runs["ref"]
    m = _metrics(ref)
    assert [r["step"] for r in m] == list(range(1, len(m) + 1))
    stages = [r["stage"] for r in m]
    assert stages == sorted(stages, key=["stable", "decay"].index) and set(stages) == {"stable", "decay"}
    assert all(math.isfinite(r["loss"]) and r["grad_norm"] > 0 for r in m)
    assert m[-1]["loss"] < m[0]["loss"]
    # every token of every stage was trained on, and the per-source counts add up
    mx = open_mixture(runs["ids"]["pretrain"], runs["registry"])
    stage_tokens = [int(s.lengths().sum()) for s in mx.stages]
    assert sum(r["tokens"] for r in m) == sum(stage_tokens) == sum(m[-1]["tokens_by_source"].values())
    assert [sum(r["tokens"] for r in m if r["stage"] == s.name) for s in mx.stages] == stage_tokens
    evals = [r for r in m if "val_loss" in r]
    assert [r["step"] for r in evals][:2] == [4, 8] and set(evals[-1]["val_loss"]) == {"gen", "web"}
    assert (ref / "loss.png").stat().st_size > 1000
    manifest = json.loads((ref / "manifest.json").read_text())
    assert manifest["kind"] == "run" and manifest["parents"] == [runs["ids"]["pretrain"]]
    assert manifest["counts"]["complete"] is True
    assert "decay" in runs["ref_out"] and "complete" in runs["ref_out"]


def test_lr_phases_follow_the_mixture_stage_boundaries(runs):
    m = _metrics(runs["ref"])
    stable = [r["lr"] for r in m if r["stage"] == "stable"]
    decay = [r["lr"] for r in m if r["stage"] == "decay"]
    assert stable[0] < 3e-3 and stable[-1] == 3e-3  # warmup ends inside the first stage
    assert decay[0] < 3e-3  # the decay starts on the first step of the decay stage, not before
    assert all(a > b for a, b in zip(decay, decay[1:], strict=False))
    # and ends on the run's last step, half a step above the floor (lr is taken mid-step)
    last = [r for r in m if r["stage"] == "decay"][-1]
    total = sum(r["tokens"] for r in m if r["stage"] == "decay")
    assert decay[-1] == pytest.approx(3e-4 + 2.7e-3 * (last["tokens"] / 2) / total)


def test_plan_has_the_steps_tokens_and_learning_rates_the_run_took(runs):
    from dataforge.core.specs import load_spec
    from training import Run
    from training.plan import plan_run

    m = _metrics(runs["ref"])
    plan = plan_run(load_spec(runs["one"], "run", Run))
    assert [(s["step"], s["stage"], s["tokens"]) for s in plan.steps] == [(r["step"], r["stage"], r["tokens"])
                                                                          for r in m]
    assert [s["lr"] for s in plan.steps] == [r["lr"] for r in m]


def test_killed_run_resumed_gives_bitwise_identical_losses(runs):
    ref, resumed = _metrics(runs["ref"]), _metrics(runs["killed"])
    tag = runs["killed_tag"]
    assert runs["killed_lines"] > int(tag.split("-")[1])  # it trained past its last checkpoint before the kill
    assert [r["step"] for r in resumed] == [r["step"] for r in ref]
    assert [r["loss"] for r in resumed] == [r["loss"] for r in ref]
    assert [r["lr"] for r in resumed] == [r["lr"] for r in ref]
    assert [r["tokens_by_source"] for r in resumed] == [r["tokens_by_source"] for r in ref]
    client = json.loads((runs["killed"] / "checkpoints" / "latest").parent.joinpath(tag, "client.json").read_text()) \
        if (runs["killed"] / "checkpoints" / tag).is_dir() else None
    if client is not None:  # (kept unless pruned by later checkpoints)
        assert client["mixture_id"] == runs["ids"]["pretrain"]


def test_two_gloo_ranks_match_one_rank_with_the_same_global_batch(runs):
    one, two = _metrics(runs["ref"]), _metrics(runs["ranks"])
    assert [r["tokens"] for r in two] == [r["tokens"] for r in one]
    np.testing.assert_allclose([r["loss"] for r in two], [r["loss"] for r in one], rtol=1e-5)
    np.testing.assert_allclose([r["grad_norm"] for r in two], [r["grad_norm"] for r in one], rtol=1e-4)


def _cli(capsys, *args: str) -> tuple[int, str]:
    """Run `forge ...` in this process (for commands that refuse or only read: no DeepSpeed here)."""
    from jobs.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_resume_against_another_mixture_is_refused(runs, capsys):
    other = _spec(runs["tmp"], "other", runs["ids"]["sft"], runs["registry"], grad_accum=2)
    before = (runs["ref"] / "metrics.jsonl").read_bytes()
    code, out = _cli(capsys, "train", other, "--out", str(runs["ref"]), "--resume")
    assert code == 2, out
    assert f"trained on mixture {runs['ids']['pretrain']}" in out and runs["ids"]["sft"] in out
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1
    code, out = _cli(capsys, "train", runs["one"], "--out", str(runs["ref"]))  # no --resume: refused
    assert code == 2 and "pass --resume" in out
    assert (runs["ref"] / "metrics.jsonl").read_bytes() == before  # nothing was touched


def test_saved_model_loads_with_transformers_and_reproduces_the_last_validation_loss(runs):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mixtures import open_mixture
    from training.loader import validation_rows
    from training.masking import model_inputs
    from training.objective import PackedCausalLM

    model_dir = runs["ref"] / "model"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    assert AutoTokenizer.from_pretrained(model_dir).vocab_size > 0
    assert model.config.rope_parameters["rope_theta"] == 40000.0  # the last stage's RoPE base
    mx = open_mixture(runs["ids"]["pretrain"], runs["registry"])
    wrapper = PackedCausalLM(model)
    total, count = 0.0, 0
    with torch.no_grad():
        for rows in validation_rows(mx.validation("web"), 128, 2, 1, 0, 64):
            s, n = wrapper(labels=torch.as_tensor(rows.labels), **model_inputs(rows, "sdpa", "cpu"))
            total, count = total + float(s), count + n
    last = [r for r in _metrics(runs["ref"]) if "val_loss" in r][-1]
    assert total / count == pytest.approx(last["val_loss"]["web"], abs=1e-5)


def test_trace_lists_the_documents_of_a_step_with_lineage_and_ledger(runs, capsys):
    m = _metrics(runs["ref"])
    step = next(r["step"] for r in m if r["stage"] == "decay")
    code, out = _cli(capsys, "train", "trace", str(runs["ref"]), "--step", str(step), "--json")
    assert code == 0, out
    t = json.loads(out)
    assert t["stage"] == "decay" and t["matches_metrics"] is True
    docs = t["documents"]
    assert sum(d["tokens"] for d in docs) == m[step - 1]["tokens"]
    assert {d["source"] for d in docs} <= {"gen", "web"} and all(d["stage"] == "decay" for d in docs)
    gen = [d for d in docs if d["source"] == "gen"]
    web = [d for d in docs if d["source"] == "web"]
    assert gen and web
    assert all(d["dataset_kind"] == "generated" and d["walk"] == ["topic", "draft", "rephrase"] for d in gen)
    assert all(d["lineage"]["walk_id"] == d["doc_id"] for d in gen)
    assert all(d["dataset_kind"] == "curated" and [x["decision"] for x in d["ledger"]] == ["kept"] for d in web)
    # the table form, and a step past the end of the mixture
    code, out = _cli(capsys, "train", "trace", str(runs["ref"]), "--step", "1")
    assert code == 0 and "rephrase" in out and "gopher" not in out and "matches" in out
    code, out = _cli(capsys, "train", "trace", str(runs["ref"]), "--step", str(len(m) + 1))
    assert code == 2 and "past the end of the mixture" in out


def test_sft_stage_puts_loss_only_on_assistant_tokens(built_mixtures, tokenizer):
    from mixtures import open_mixture
    from training.loader import MixtureLoader
    from training.masking import IGNORE

    registry, ids = built_mixtures
    mx = open_mixture(ids["sft"], registry)
    assert mx.stages[0].sft
    loader = MixtureLoader(mx, micro_batch_size=2, grad_accum=1)
    batch = loader.next_batch()
    chat_targets = text_targets = 0
    for row_pieces, r in zip(batch.plan.rows, range(len(batch.plan.rows)), strict=True):
        rows = batch.micro[0]
        at = 0
        for i in row_pieces:
            piece = mx.stages[0].piece(i)
            n = len(piece.tokens)
            labels = rows.labels[r, at:at + n - 1]
            labelled = labels[labels != IGNORE]
            if piece.source == "chat":
                assert piece.loss_mask is not None
                text = tokenizer.decode(labelled)
                assert "Question" not in text and "user" not in text  # never the prompt
                assert np.array_equal(labels != IGNORE, piece.loss_mask[1:] > 0)
                chat_targets += len(labelled)
            else:
                assert len(labelled) == n - 1  # text pieces in an SFT stage keep full loss
                text_targets += len(labelled)
            at += n
    assert chat_targets > 0 and batch.loss_tokens >= chat_targets


VLLM_SCRIPT = """
import json, sys
from vllm import LLM, SamplingParams

if __name__ == "__main__":
    llm = LLM(model=sys.argv[1], dtype="float32", max_model_len=256, enforce_eager=True,
              gpu_memory_utilization=0.1)
    out = llm.generate([{"prompt_token_ids": json.loads(sys.argv[2])}], SamplingParams(max_tokens=6, temperature=0))
    print("TOKENS", json.dumps(list(out[0].outputs[0].token_ids)))
"""


@pytest.mark.vllm
@pytest.mark.skipif(bool(os.environ.get("FORGE_SKIP_VLLM_TESTS")), reason="FORGE_SKIP_VLLM_TESTS is set")
def test_saved_model_generates_the_same_greedy_tokens_in_vllm_as_in_transformers(runs, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    pytest.importorskip("vllm")
    model_dir = runs["ref"] / "model"
    prompt = AutoTokenizer.from_pretrained(model_dir)("The river rose for three days")["input_ids"]
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    with torch.no_grad():
        expected = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False)[0, len(prompt):]
    script = tmp_path / "vllm_generate.py"
    script.write_text(VLLM_SCRIPT)
    done = subprocess.run([sys.executable, str(script), str(model_dir), json.dumps(prompt)], env=_env(),
                          capture_output=True, text=True, timeout=900)
    line = next((x for x in done.stdout.splitlines() if x.startswith("TOKENS ")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-3000:]
    assert json.loads(line[len("TOKENS "):]) == expected.tolist()
