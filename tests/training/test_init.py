"""Where a run starts from: checked in one line before anything runs, and recorded for lineage."""

from __future__ import annotations

import json

import pytest

from dataforge.core.errors import ForgeError, SpecError
from training.init import StartFrom, resolve
from training.spec import Model, Run

from .conftest import TINY_LLAMA


def _source(root):
    src = root / "base"
    (src / "model").mkdir(parents=True)
    (src / "model" / "config.json").write_text("{}")
    (src / "run.json").write_text(json.dumps({"mixture_id": "m1", "run": {"deepspeed": {"zero_stage": 0}}}))
    (src / "manifest.json").write_text(json.dumps({"kind": "run", "id": "run-id-1"}))
    return src


def test_an_exported_model_of_a_run_is_recorded_as_its_source(tmp_path):
    src = _source(tmp_path)
    run = Run(mixture="m", model=Model(checkpoint=str(src / "model")))
    got = resolve(run, tmp_path / "new")
    assert (got["run"], got["checkpoint"], got["run_id"], got["via"]) == (str(src), "model", "run-id-1",
                                                                        "model.checkpoint")
    started = Run(mixture="m", model=Model(config=TINY_LLAMA), start_from=StartFrom(run=str(src), checkpoint="model"))
    assert resolve(started, tmp_path / "new")["run_id"] == "run-id-1"
    assert resolve(Run(mixture="m", model=Model(config=TINY_LLAMA)), tmp_path / "new") is None


def test_impossible_starts_are_refused_in_one_line(tmp_path):
    src = _source(tmp_path)
    with pytest.raises(SpecError, match="^run.start_from: optimizer_state: an exported model has no optimizer state"):
        StartFrom(run=str(src), checkpoint="model", optimizer_state=True)
    run = Run(mixture="m", model=Model(config=TINY_LLAMA), start_from=StartFrom(run=str(src)))
    with pytest.raises(ForgeError, match=r"no complete checkpoint 'latest' \(steps kept: none\)"):
        resolve(run, tmp_path / "new")
    with pytest.raises(ForgeError, match="is this run's own --out; pass --resume"):
        resolve(run, src)
