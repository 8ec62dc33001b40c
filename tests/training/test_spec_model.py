"""Run specs, shipped examples, and model construction (from a config or a local checkpoint)."""

from __future__ import annotations

import os

import pytest
import torch

from dataforge.core.errors import ForgeError, SpecError
from dataforge.core.specs import load_spec
from training import Run
from training.examples import example_paths, render_example
from training.model import build_model, pick_attention, rope_theta, set_rope_theta
from training.spec import DeepSpeed, Model

from .conftest import TINY_LLAMA


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.stem)
def test_every_shipped_example_loads_as_a_run(path):
    run = load_spec(path, "run", Run)
    assert run.model.config or run.model.checkpoint


def test_rendered_example_names_the_given_mixture(tmp_path):
    spec = tmp_path / "train.py"
    spec.write_text(render_example("tiny_llama", "abc123def456", tmp_path / "registry"))
    run = load_spec(spec, "run", Run)
    assert run.mixture == "abc123def456" and run.registry == str(tmp_path / "registry")


def test_spec_errors_are_one_line_and_name_the_field():
    with pytest.raises(SpecError, match=r"^run.model: give exactly one of"):
        Model(config={"model_type": "llama"}, checkpoint="x")
    with pytest.raises(SpecError, match=r"^run.deepspeed.zero_stage: must be <= 3 \(got 4\)"):
        DeepSpeed(zero_stage=4)
    with pytest.raises(SpecError, match=r"^run.name: .*names become file names"):
        Run(name="../x", mixture="m", model=Model(config={"model_type": "llama"}))


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_model_from_config_takes_the_tokenizer_vocab(model_type):
    cfg = dict(TINY_LLAMA, model_type=model_type)
    model = build_model(Model(config=cfg), vocab_size=1000, max_seq_len=512, attention="sdpa", seed=0)
    assert model.config.vocab_size == 1000 and model.config.max_position_embeddings >= 512
    again = build_model(Model(config=cfg), vocab_size=1000, max_seq_len=512, attention="sdpa", seed=0)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters(), strict=True))


def test_model_smaller_than_the_tokenizer_is_refused():
    with pytest.raises(ForgeError, match="vocab_size: 100 < the mixture tokenizer's 1000"):
        build_model(Model(config=dict(TINY_LLAMA, vocab_size=100)), 1000, 64, "sdpa", 0)


def test_local_checkpoint_continues_from_its_weights(tmp_path):
    first = build_model(Model(config=TINY_LLAMA), 1000, 128, "sdpa", seed=3)
    first.save_pretrained(tmp_path / "ckpt")
    loaded = build_model(Model(checkpoint=str(tmp_path / "ckpt")), 1000, 128, "sdpa", seed=99)
    assert all(torch.equal(a, b) for a, b in zip(first.parameters(), loaded.parameters(), strict=True))
    with pytest.raises(ForgeError, match="not a local HF folder"):
        build_model(Model(checkpoint=str(tmp_path / "missing")), 1000, 128, "sdpa", 0)


def test_rope_theta_change_rebases_positions_and_lands_in_the_config():
    model = build_model(Model(config=TINY_LLAMA), 1000, 128, "sdpa", seed=0).eval()
    ids = torch.arange(1, 65)[None]
    before = model(input_ids=ids).logits
    set_rope_theta(model, 500000.0)
    assert rope_theta(model.config) == 500000.0
    assert not torch.allclose(before, model(input_ids=ids).logits)
    set_rope_theta(model, 10000.0)
    assert torch.allclose(before, model(input_ids=ids).logits, atol=1e-6)


def test_cpu_uses_sdpa_with_a_mask_and_refuses_flash():
    assert pick_attention("auto", "cpu") == "sdpa"
    with pytest.raises(ForgeError, match="needs a GPU"):
        pick_attention("flash_attention_2", "cpu")


def test_cli_names_a_missing_mixture_in_one_line(tmp_path, capsys):
    from jobs.cli import main

    spec = tmp_path / "train.py"
    spec.write_text(render_example("tiny_llama", "0123456789abcdef", tmp_path / "empty-registry"))
    assert main(["train", str(spec), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "mixture 0123456789abcdef" in err and "forge mix build" in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_deepspeed_launcher_rank_argument_is_taken_off_the_command_line(monkeypatch):
    from jobs.train import _strip_launcher_args

    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert _strip_launcher_args(["--local_rank=3", "spec.py", "--out", "x"]) == ["spec.py", "--out", "x"]
    assert os.environ["LOCAL_RANK"] == "3"
    assert _strip_launcher_args(["spec.py", "--local_rank", "1", "--resume"]) == ["spec.py", "--resume"]
