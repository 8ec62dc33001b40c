"""Per-stage optimization: each stage's learning rate from its own settings, AdamW parameter groups."""

from __future__ import annotations

import math

import pytest

from dataforge.core.errors import SpecError
from training.optim import StageOptim, apply_hparams, param_groups, reset_state
from training.packing import Packer
from training.schedule import StageSchedule
from training.spec import Model, Run, Schedule

LENGTHS = [[37, 64, 12, 50, 64, 8, 33, 41] * 25, [100, 128, 77, 20] * 15, [64, 30] * 20]
NAMES = ["stable", "decay", "sft"]
TOTALS = [sum(x) for x in LENGTHS]


def _by_stage(sched: StageSchedule) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {n: [] for n in NAMES}
    for s in sched.preview(Packer(LENGTHS, [64, 128, 64], rows=4, micro_batches=2)):
        out[s["stage"]].append(s["lr"])
    return out


def test_each_stage_lr_comes_from_its_own_settings():
    own = {"stable": StageOptim(lr=2e-3, warmup=0.2),
           "decay": StageOptim(lr=2e-3, kind="linear", min_lr_ratio=0.1),
           "sft": StageOptim(lr=1e-5, warmup=0.1, kind="cosine", min_lr_ratio=0.5)}
    lrs = _by_stage(StageSchedule(Schedule(kind="wsd", warmup=0.5), 1e-3, NAMES, TOTALS, own))
    stable, decay, sft = lrs["stable"], lrs["decay"], lrs["sft"]
    assert stable[0] < 2e-3 and stable[-1] == 2e-3 and max(stable) == 2e-3  # its own warmup and peak
    assert decay[0] < 2e-3 and all(a > b for a, b in zip(decay, decay[1:], strict=False))
    assert 2e-4 < decay[-1] < 2e-4 + 2e-3 * 0.1  # ends near its own floor, never at it
    peak = sft.index(max(sft))
    assert 0 < peak and sft[0] < 1e-5 and max(sft) <= 1e-5  # warms up again, to the SFT rate
    assert all(a >= b for a, b in zip(sft[peak:], sft[peak + 1:], strict=False)) and sft[-1] > 5e-6
    assert all(x > 0 for x in stable + decay + sft)


def test_stages_without_settings_follow_the_run_schedule_over_the_others():
    own = {"sft": StageOptim(lr=1e-5)}  # constant: the default shape
    sched = StageSchedule(Schedule(kind="wsd", warmup=0.1, decay_stages=["decay"]), 1e-3, NAMES, TOTALS, own)
    lrs = _by_stage(sched)
    assert lrs["stable"][-1] == 1e-3 and lrs["decay"][0] < 1e-3 and lrs["decay"][-1] < 1e-4
    assert lrs["sft"] == [1e-5] * len(lrs["sft"])
    cosine = _by_stage(StageSchedule(Schedule(kind="cosine", warmup=0.0), 1e-3, NAMES, TOTALS, own))
    assert 0 < cosine["decay"][-1] < 1e-5  # the cosine spans stable and decay only
    assert cosine["sft"] == [1e-5] * len(cosine["sft"])


def test_shapes_linear_constant_and_multi_step():
    one = {"stable": 1000}
    for kind, want in (("constant", [1.0, 1.0]), ("linear", [0.75, 0.25])):
        spec = StageOptim(lr=1.0, kind=kind)
        sched = StageSchedule(Schedule(), 1.0, ["stable"], [one["stable"]], {"stable": spec})
        assert [sched.lr(0, t) for t in (250, 750)] == pytest.approx(want)
    spec = StageOptim(lr=1.0, kind="multi_step", fractions=(0.7, 0.15, 0.15))
    sched = StageSchedule(Schedule(), 1.0, ["stable"], [1000], {"stable": spec})
    assert [sched.lr(0, t) for t in (10, 690, 710, 840, 860, 999)] == pytest.approx(
        [1.0, 1.0, 10 ** -0.5, 10 ** -0.5, 0.1, 0.1])
    run_level = StageSchedule(Schedule(kind="multi_step", warmup=0.0, levels=(1.0, 0.5, 0.25)), 1.0,
                              ["a", "b"], [800, 200])
    assert [run_level.lr(0, 100), run_level.lr(1, 50), run_level.lr(1, 150)] == [1.0, 0.5, 0.25]
    with pytest.raises(SpecError, match="fractions: each > 0 and together 1"):
        StageOptim(kind="multi_step", fractions=(0.5, 0.4))
    with pytest.raises(SpecError, match="levels: one per fraction"):
        StageOptim(kind="multi_step", levels=(1.0, 0.5))


def test_a_stage_after_the_decay_never_trains_at_zero_unless_asked():
    model = Model(config={"model_type": "llama"})
    with pytest.raises(SpecError, match="stage 'sft' comes after the WSD decay and would train at min_lr_ratio=0.0"):
        Run(mixture="m", model=model, schedule=Schedule(decay_stages=["decay"])).check_against(NAMES)
    # its own settings, or a floor above zero, are both fine
    Run(mixture="m", model=model, schedule=Schedule(decay_stages=["decay"]),
        stage_optim={"sft": StageOptim(lr=1e-5)}).check_against(NAMES)
    Run(mixture="m", model=model, schedule=Schedule(decay_stages=["decay"], min_lr_ratio=0.1)).check_against(NAMES)
    with pytest.raises(SpecError, match="stage_optim: unknown stage 'dpo'"):
        Run(mixture="m", model=model, stage_optim={"dpo": StageOptim()}).check_against(NAMES)
    with pytest.raises(SpecError, match="decay_stages: stage 'decay' has its own run.stage_optim"):
        Run(mixture="m", model=model, schedule=Schedule(decay_stages=["decay"]),
            stage_optim={"decay": StageOptim()}).check_against(NAMES)


def _qwen_with_biases():
    from training.model import build_model

    config = {"model_type": "qwen2", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
              "num_attention_heads": 2, "num_key_value_heads": 1, "tie_word_embeddings": False}
    return build_model(Model(config=config), 512, 64, "sdpa", seed=0)


def test_param_groups_leave_embeddings_norms_and_biases_undecayed(tiny_model):
    for model in (tiny_model, _qwen_with_biases()):
        decay, plain = param_groups(model, 0.1)
        names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
        plain_names = {names[id(p)] for p in plain["params"]}
        decay_names = {names[id(p)] for p in decay["params"]}
        assert decay["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
        assert "model.embed_tokens.weight" in plain_names
        assert any(n.endswith("norm.weight") for n in plain_names)
        assert all(n.endswith((".bias", "norm.weight", "embed_tokens.weight")) for n in plain_names)
        assert all(n.endswith("proj.weight") or n == "lm_head.weight" for n in decay_names)
        assert len(decay["params"]) + len(plain["params"]) == len({id(p) for p in model.parameters()})
    qwen_plain = {n for n, p in _qwen_with_biases().named_parameters() if n.endswith(".bias")}
    assert qwen_plain  # the qwen2 config does have biases, and they were checked above
    everything = param_groups(tiny_model, 0.1, no_decay=())
    assert not everything[1]["params"]  # no_decay=() decays every parameter


def test_stage_weight_decay_and_reset_touch_the_optimizer_as_asked(tiny_model):
    import copy

    import torch

    model = copy.deepcopy(tiny_model)  # the session's model stays untouched
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-3)
    apply_hparams(opt, 5e-4, 0.0)
    assert [g["lr"] for g in opt.param_groups] == [5e-4, 5e-4]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.0, 0.0]
    apply_hparams(opt, 5e-4, 0.05)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]  # norms etc. stay undecayed
    ids = torch.tensor([[1, 2, 3, 4]])
    model.train()
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    assert len(opt.state) > 0 and all(float(s["step"]) == 1 for s in opt.state.values())
    reset_state(opt)
    assert len(opt.state) == 0
    opt.step()  # starts its moments afresh, like a new run's first step
    assert all(float(s["step"]) == 1 for s in opt.state.values())
    assert all(math.isfinite(float(p.detach().sum())) for p in model.parameters())
