"""Learning-rate phases line up with the mixture's stage boundaries, by construction."""

from __future__ import annotations

import pytest

from dataforge.core.errors import SpecError
from training.packing import Packer
from training.schedule import StageSchedule
from training.spec import Model, Run, Schedule

LENGTHS = [[37, 64, 12, 50, 64, 8, 33, 41] * 25, [100, 128, 77, 20] * 15, [64, 30] * 20]
NAMES = ["stable", "decay", "sft"]


def _preview(spec: Schedule, names=NAMES, lengths=LENGTHS):
    packer = Packer(lengths, [64, 128, 64], rows=4, micro_batches=2)
    sched = StageSchedule(spec, 1e-3, names, [sum(x) for x in lengths])
    return sched.preview(packer)


def test_wsd_decays_exactly_over_the_decay_stage():
    steps = _preview(Schedule(kind="wsd", warmup=0.1, decay_stages=["decay"], min_lr_ratio=0.1))
    stable = [s["lr"] for s in steps if s["stage"] == "stable"]
    decay = [s["lr"] for s in steps if s["stage"] == "decay"]
    sft = [s["lr"] for s in steps if s["stage"] == "sft"]
    assert stable[0] < 1e-3 and stable[-1] == 1e-3  # warmup ends inside the first stage
    assert decay[0] < 1e-3  # the first step of the decay stage already decays
    assert all(a > b for a, b in zip(decay, decay[1:], strict=False))
    assert decay[-1] == pytest.approx(1e-4)  # the floor on the decay stage's last step
    assert sft == [pytest.approx(1e-4)] * len(sft)  # after the decay: the floor


def test_wsd_without_decay_stages_decays_over_the_last_stage():
    steps = _preview(Schedule(kind="wsd", warmup=0.0))
    first_last = next(i for i, s in enumerate(steps) if s["stage"] == "sft")
    assert all(s["lr"] == 1e-3 for s in steps[:first_last])
    assert steps[first_last]["lr"] < 1e-3 and steps[-1]["lr"] == 0.0


def test_cosine_spans_the_whole_run_and_ends_at_the_floor():
    steps = _preview(Schedule(kind="cosine", warmup=0.05, min_lr_ratio=0.0))
    peak = max(range(len(steps)), key=lambda i: steps[i]["lr"])
    assert steps[peak]["stage"] == "stable"
    assert all(a["lr"] >= b["lr"] for a, b in zip(steps[peak:], steps[peak + 1:], strict=False))
    assert steps[-1]["lr"] == pytest.approx(0.0, abs=1e-12)


def test_boundaries_are_the_stage_token_budgets():
    sched = StageSchedule(Schedule(kind="wsd", warmup=0.1, decay_stages=["decay"]), 1e-3, NAMES,
                          [1000, 300, 100])
    assert sched.boundaries() == {"warmup_end": 100.0, "decay_start": 1000, "end": 1400}


def test_unknown_or_split_decay_stages_are_refused():
    model = Model(config={"model_type": "llama"})
    with pytest.raises(SpecError, match="unknown stage 'cooldown'"):
        Run(mixture="m", model=model, schedule=Schedule(decay_stages=["cooldown"])).check_against(NAMES)
    with pytest.raises(SpecError, match="must follow each other"):
        Run(mixture="m", model=model, schedule=Schedule(decay_stages=["stable", "sft"])).check_against(NAMES)
    with pytest.raises(SpecError, match="rope_theta: unknown stage"):
        Run(mixture="m", model=model, rope_theta={"long": 5e5}).check_against(NAMES)
