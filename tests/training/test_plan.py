"""`forge train --plan`: the steps, tokens and learning rates of a run, from the packer and the schedule."""

from __future__ import annotations

import pytest

from jobs.cli import main as forge
from mixtures import open_mixture
from tests.reliability.conftest import snapshot
from training.loader import budget_lengths
from training.packing import Packer

SPEC = """
from training import DeepSpeed, Model, Optimizer, Run, Schedule

run = Run(name="p", mixture={mixture!r}, registry={registry!r},
          model=Model(config={{"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                               "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1}}),
          deepspeed=DeepSpeed(micro_batch_size=2, grad_accum=2), optimizer=Optimizer(lr=3e-3),
          schedule=Schedule(kind="wsd", warmup=0.2, decay_stages=["decay"], min_lr_ratio=0.1))
"""


def test_train_plan_prints_steps_tokens_and_lr_per_stage_and_writes_only_the_png(built_mixtures, tmp_path, capsys):
    registry, ids = built_mixtures
    spec = tmp_path / "spec" / "train.py"
    spec.parent.mkdir()
    spec.write_text(SPEC.format(mixture=ids["pretrain"], registry=str(registry)))
    before = snapshot(registry), snapshot(spec.parent)
    png = tmp_path / "lr.png"
    assert forge(["train", str(spec), "--plan", "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert (snapshot(registry), snapshot(spec.parent)) == before and not (tmp_path / "runs").exists()
    mx = open_mixture(ids["pretrain"], registry)
    lengths = budget_lengths(mx.stages)
    plans = list(Packer(lengths, [s.seq_len for s in mx.stages], rows=4, micro_batches=2))
    for i, name in enumerate(["stable", "decay"]):
        mine = [p for p in plans if p.stage == i]
        line = next(x for x in out.splitlines() if x.strip().strip("│┃ ").startswith(name))
        cells = [c.strip() for c in line.replace("┃", "│").split("│") if c.strip()]
        assert cells[:6] == [name, str(len(mine)), str(mine[0].step + 1), str(mine[-1].step + 1),
                             str(mx.stages[i].seq_len), f"{int(lengths[i].sum()):,}"]
        if name == "stable":  # warmup from near 0 to the peak inside the first stage
            assert float(cells[7]) < 3e-3 and float(cells[8]) == pytest.approx(3e-3)
        else:  # decaying from the stage's first step to half a step above the floor on the last
            last = 3e-4 + 2.7e-3 * (mine[-1].tokens / 2) / int(lengths[i].sum())
            assert float(cells[8]) < 3e-3 and float(cells[9]) == pytest.approx(last, rel=5e-3)
    assert f"{len(plans)} steps of 4 rows" in out
    assert out.strip().splitlines()[-1] == str(png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
