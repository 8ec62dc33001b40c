"""Faults of `forge train`: bad model/trainer fields, DeepSpeed output paths, a diverged run, a failing rank.

Spec and config errors are checked in this process: they must be refused before any process group,
DeepSpeed engine or model exists (and before the run dir is made). Real runs are subprocesses
(DeepSpeed on its CPU accelerator over gloo): two ranks that diverge, and two ranks where one fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.reliability.conftest import REPO, error_line, snapshot
from training.distributed import free_port, launch_env

TINY = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32, "tie_word_embeddings": True}

SPEC = """
import os
from training import DeepSpeed, Model, Optimizer, Run, Schedule

{prelude}
run = Run(
    name="t", mixture={mixture!r}, registry={registry!r},
    model=Model(config={model!r}),
    deepspeed=DeepSpeed(zero_stage=1, micro_batch_size=2, grad_accum=1, config={ds!r}),
    optimizer=Optimizer(lr={lr}),
    schedule=Schedule(kind="wsd", warmup=0.0),
    save_every=1, keep_checkpoints=5,
)
"""


@pytest.fixture(scope="module")
def mixture(spark, tmp_path_factory):
    """One small two-stage mixture (stable at seq_len 64, decay at 128); returns (registry, id)."""
    from dataforge.core.models import embedded_llm_dir
    from mixtures import Mixture, Source, Stage, build_mixture
    from tests.training.conftest import make_sources

    root = tmp_path_factory.mktemp("train-faults")
    make_sources(root)
    web = Source("web", path=str(root / "curated"), holdout_docs=4)
    gen = Source("gen", path=str(root / "generated"), holdout_docs=4)
    m = Mixture(name="faults", tokenizer=str(embedded_llm_dir()), seed=3, stages=[
        Stage("stable", tokens=1200, seq_len=64, weights={web: 0.7, gen: 0.3}),
        Stage("decay", tokens=600, seq_len=128, weights={web: 0.5, gen: 0.5})])
    return root / "registry", build_mixture(m, root / "registry", spark=spark).id


def write_spec(path: Path, mixture, model=None, ds=None, lr="3e-3", prelude="") -> str:
    registry, mid = mixture
    path.write_text(SPEC.format(mixture=mid, registry=str(registry), model=model or TINY, ds=ds or {}, lr=lr,
                                prelude=prelude))
    return str(path)


def cli(capsys, *args: str) -> tuple[int, list[str]]:
    """`forge ...` in this process; returns the exit code and the non-blank output lines."""
    from jobs.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, [ln for ln in (captured.out + captured.err).splitlines() if ln.strip()]


# --- refused before DeepSpeed starts: one line naming the file and the field -----------------------------

BAD_FIELDS = [
    ("zero_heads", {"model": dict(TINY, num_attention_heads=0)},
     "run.model.config.num_attention_heads: must be >= 1 (got 0)"),
    ("hidden_not_divisible",
     {"model": {k: v for k, v in TINY.items() if k != "head_dim"} | {"hidden_size": 30, "num_attention_heads": 4}},
     "run.model.config.hidden_size: 30 is not divisible by num_attention_heads 4"),
    ("kv_heads_not_dividing", {"model": dict(TINY, num_attention_heads=4, num_key_value_heads=3)},
     "run.model.config.num_key_value_heads: 3 does not divide num_attention_heads 4"),
    ("negative_size", {"model": dict(TINY, intermediate_size=-64)},
     "run.model.config.intermediate_size: must be >= 1 (got -64)"),
    ("zero_lr", {"lr": "0.0"}, "run.optimizer.lr: must be > 0"),
    ("nan_lr", {"lr": "float('nan')"}, "run.optimizer.lr: must be a finite number (got nan)"),
    ("batch_size_in_ds_config", {"ds": {"train_batch_size": 3}},
     "run.deepspeed.config.train_batch_size: set by run.deepspeed.micro_batch_size"),
    ("secret_in_ds_config", {"ds": {"comet": {"enabled": False, "api_key": "k-123"}}},
     "run.deepspeed.config.comet.api_key: a secret would be written"),
    # checked against the mixture and its tokenizer, still before any process group or engine
    ("vocab_below_tokenizer", {"model": dict(TINY, vocab_size=100)},
     "run.model.config.vocab_size: 100 < the mixture tokenizer's"),
    ("positions_below_seq_len", {"model": dict(TINY, max_position_embeddings=64)},
     "run.model.config.max_position_embeddings: 64 < the mixture's longest seq_len 128"),
    ("csv_monitor_outside", {"ds": {"csv_monitor": {"enabled": True, "output_path": "/tmp/forge-csv-outside"}}},
     "run.deepspeed.config.csv_monitor.output_path: '/tmp/forge-csv-outside' is outside the run dir"),
    ("tensorboard_dotdot", {"ds": {"tensorboard": {"enabled": True, "output_path": "../tb"}}},
     "run.deepspeed.config.tensorboard.output_path: '../tb' is outside the run dir"),
    ("job_name_escapes", {"ds": {"csv_monitor": {"enabled": True, "job_name": "../../../x"}}},
     "run.deepspeed.config.csv_monitor.job_name: '../../../x' is outside the run dir"),
    ("profiler_file_outside", {"ds": {"flops_profiler": {"enabled": True, "output_file": "/tmp/prof.txt"}}},
     "run.deepspeed.config.flops_profiler.output_file: '/tmp/prof.txt' is outside the run dir"),
    ("nvme_swap_outside", {"ds": {"zero_optimization": {"offload_param": {"device": "nvme", "nvme_path": "/nvme"}}}},
     "run.deepspeed.config.zero_optimization.offload_param.nvme_path: '/nvme' is outside the run dir"),
]


@pytest.mark.parametrize("fields,expected", [c[1:] for c in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS])
def test_bad_model_or_trainer_field_is_one_line_naming_it_before_deepspeed_starts(
        mixture, tmp_path, capsys, fields, expected):
    import torch.distributed as dist

    spec = write_spec(tmp_path / "train.py", mixture, **fields)
    out = tmp_path / "run"
    grouped = dist.is_initialized()  # an earlier in-process test (the vLLM engine) may have made one
    code, lines = cli(capsys, "train", spec, "--out", str(out))
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith(f"forge: error: {spec}"), lines
    assert expected in lines[0]
    assert dist.is_initialized() == grouped  # refused before any process group (and so before DeepSpeed)
    assert not out.exists()
    assert "k-123" not in lines[0]


def test_relative_monitor_path_is_resolved_inside_the_run_dir(tmp_path):
    from training.dspaths import confine

    config, env = confine({"csv_monitor": {"enabled": True, "output_path": "csv", "job_name": "j"},
                           "tensorboard": {"enabled": True}, "wandb": {"enabled": True}}, tmp_path / "run")
    run = (tmp_path / "run").resolve()
    assert config["csv_monitor"]["output_path"] == str(run / "csv")
    assert config["tensorboard"]["output_path"] == str(run / "monitor")  # empty: the launch dir otherwise
    assert env == {"WANDB_DIR": str(run / "wandb")}


# --- real runs ------------------------------------------------------------------------------------------

def _env(**extra) -> dict[str, str]:
    return launch_env(PYTHONPATH=str(REPO), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", DS_ACCELERATOR="cpu",
                      TOKENIZERS_PARALLELISM="false", **extra)



def two_ranks(cwd: Path, *args: str, timeout: float = 300) -> list[subprocess.CompletedProcess]:
    """`forge train ...` as two gloo ranks (torchrun-style env), each a process; both must end."""
    port = str(free_port())
    procs = [subprocess.Popen([sys.executable, "-m", "jobs.cli", "train", *args], cwd=cwd, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=_env(RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1",
                                       MASTER_PORT=port)) for r in (0, 1)]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)  # a hang fails here
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def one_error_line(done: list[subprocess.CompletedProcess]) -> str:
    joined = subprocess.CompletedProcess([], 2, "", "".join(p.stderr + p.stdout for p in done))
    return error_line(joined)  # exactly one `forge: error:` line over both ranks, no traceback


def test_diverged_run_stops_all_ranks_with_one_line_keeps_checkpoints_and_exports_nothing(mixture, tmp_path):
    """lr=1e30: the weights blow up after step 1; every rank stops at the first non-finite loss or
    gradient norm. Also: a relative csv_monitor path lands inside the run dir, nothing in the launch dir."""
    cwd = tmp_path / "launch"
    cwd.mkdir()
    (cwd / "keep.txt").write_text("not the run's")
    before = snapshot(cwd)
    spec = write_spec(tmp_path / "train.py", mixture, lr="1e30",
                      ds={"csv_monitor": {"enabled": True, "output_path": "csv", "job_name": "j"}})
    out = tmp_path / "run"
    done = two_ranks(cwd, spec, "--out", str(out))
    assert [p.returncode for p in done] == [2, 2], [p.stderr[-2000:] for p in done]
    line = one_error_line(done)
    assert "of stage 'stable':" in line and "lower run.optimizer.lr (1e+30)" in line, line
    assert " is nan;" in line or " is inf;" in line, line
    step = int(line.split("forge: error: step ")[1].split()[0])
    assert step >= 2  # step 1 starts from finite weights
    assert not (out / "model").exists() and not (out / "manifest.json").exists()
    tags = sorted(p.name for p in (out / "checkpoints").glob("step-*"))
    assert tags and tags[-1] == f"step-{step - 1:08d}"  # every checkpoint before the fault, none at it
    assert (out / "checkpoints" / "latest").read_text().strip() == tags[-1]
    client = json.loads((out / "checkpoints" / tags[-1] / "client.json").read_text())
    assert client["step"] == step - 1 and client["mixture_id"] == mixture[1]
    assert [r["step"] for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines())] == \
        list(range(1, step))  # the diverged step is not logged
    assert (out / "csv" / "j").is_dir()  # DeepSpeed's CSV monitor wrote inside the run dir
    assert snapshot(cwd) == before  # and nothing into the launch dir


def test_error_on_one_rank_ends_every_rank_with_one_line(mixture, tmp_path):
    """Rank 1 fails on its own (its spec import raises) while rank 0 goes on into DeepSpeed and waits
    for it in a collective: both end, exit 2, one `forge: error:` line naming rank 1's error."""
    prelude = 'if os.environ.get("RANK") == "1":\n    raise OSError("disk quota exceeded on this node")\n'
    spec = write_spec(tmp_path / "train.py", mixture, prelude=prelude)
    out = tmp_path / "run"
    done = two_ranks(tmp_path, spec, "--out", str(out))
    assert [p.returncode for p in done] == [2, 2], [p.stderr[-2000:] for p in done]
    line = one_error_line(done)
    assert "rank 1: " in line and "disk quota exceeded on this node" in line, line
    assert not (out / "model").exists()


def test_export_check_names_a_parameter_holding_nan_or_inf():
    import torch

    from training.guard import nonfinite_param
    from training.model import build_model
    from training.spec import Model

    model = build_model(Model(config=TINY), 1000, 128, "sdpa", seed=0)
    assert nonfinite_param(model.state_dict()) is None
    with torch.no_grad():
        model.model.layers[1].mlp.up_proj.weight[3, 5] = float("inf")
    assert nonfinite_param(model.state_dict()) == "model.layers.1.mlp.up_proj.weight"
