"""Learning-rate phases line up with the mixture's stage boundaries, by construction."""

from __future__ import annotations

import pytest

from dataforge.core.errors import SpecError
from training.packing import Packer
from training.schedule import StageSchedule
from training.spec import Model, Run, Schedule

LENGTHS = [[37, 64, 12, 50, 64, 8, 33, 41] * 25, [100, 128, 77, 20] * 15, [64, 30] * 20]
NAMES = ["stable", "decay", "sft"]


def _plans():
    return list(Packer(LENGTHS, [64, 128, 64], rows=4, micro_batches=2))


def _preview(spec: Schedule):
    return StageSchedule(spec, 1e-3, NAMES, [sum(x) for x in LENGTHS]).preview(_plans())


def test_wsd_decays_exactly_over_the_decay_stage():
    steps = _preview(Schedule(kind="wsd", warmup=0.1, decay_stages=["decay"], min_lr_ratio=0.1))
    stable = [s["lr"] for s in steps if s["stage"] == "stable"]
    decay = [s["lr"] for s in steps if s["stage"] == "decay"]
    sft = [s["lr"] for s in steps if s["stage"] == "sft"]
    assert stable[0] < 1e-3 and stable[-1] == 1e-3  # warmup ends inside the first stage
    assert decay[0] < 1e-3  # the first step of the decay stage already decays
    assert all(a > b for a, b in zip(decay, decay[1:], strict=False))
    # the last decay step sits half a step above the floor: lr is taken at the middle of each step
    last = [p for p in _plans() if p.stage == 1][-1]
    assert decay[-1] == pytest.approx(1e-4 + 9e-4 * (last.tokens / 2) / sum(LENGTHS[1]))
    assert sft == [pytest.approx(1e-4)] * len(sft)  # after the decay: the floor


def test_wsd_without_decay_stages_decays_over_the_last_stage():
    steps = _preview(Schedule(kind="wsd", warmup=0.0))
    first_last = next(i for i, s in enumerate(steps) if s["stage"] == "sft")
    assert all(s["lr"] == 1e-3 for s in steps[:first_last])
    assert steps[first_last]["lr"] < 1e-3 and 0.0 < steps[-1]["lr"] < 1e-4


def test_cosine_spans_the_whole_run_and_ends_at_the_floor():
    steps = _preview(Schedule(kind="cosine", warmup=0.05, min_lr_ratio=0.0))
    peak = max(range(len(steps)), key=lambda i: steps[i]["lr"])
    assert steps[peak]["stage"] == "stable"
    assert all(a["lr"] >= b["lr"] for a, b in zip(steps[peak:], steps[peak + 1:], strict=False))
    assert 0.0 < steps[-1]["lr"] < 1e-5
    sched = StageSchedule(Schedule(kind="cosine", warmup=0.05), 1e-3, NAMES, [sum(x) for x in LENGTHS])
    assert sched.lr(2, sum(LENGTHS[2])) == pytest.approx(0.0, abs=1e-15)  # the floor at the very end


def test_no_step_trains_at_a_zero_rate_even_in_a_one_step_stage():
    sched = StageSchedule(Schedule(kind="wsd", warmup=0.5), 1e-3, ["stable", "decay"], [1000, 100])
    assert sched.lr(0, 10 / 2) > 0  # the first warmup step
    assert sched.lr(1, 100 / 2) == pytest.approx(5e-4)  # a one-step decay stage trains at half the peak


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
