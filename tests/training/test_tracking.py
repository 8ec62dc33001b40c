"""Tracking and evaluation pieces that run without DeepSpeed: TensorBoard events, the plot, scoring."""

from __future__ import annotations

import importlib.util
import json

import pytest

from dataforge.core.errors import ForgeError
from training.evals import GenEval, exact_match, load_prompts, score
from training.plot import plot_loss
from training.spec import Model, Run
from training.tracking import Tracker, check_installed, scalars

RECORDS = [{"step": i, "stage": "sft" if i < 4 else "dpo", "loss": 3.0 - 0.1 * i, "lr": 1e-4 * i,
            "grad_norm": 1.0, "tokens_by_source": {"chat": 100 * i}} for i in range(1, 7)]
RECORDS[2]["val_loss"] = {"chat": 2.9}
RECORDS[2]["evals"] = {"ifeval": 0.25, "math": 0.5}
for r in RECORDS[3:]:
    r.update({"rewards/chosen": 0.1, "rewards/rejected": -0.1, "rewards/margins": 0.2 * r["step"],
              "rewards/accuracies": 0.5 + 0.08 * r["step"]})


def read_events(folder) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_event_files_hold_every_numeric_metric(tmp_path):
    t = Tracker(["tensorboard"], tmp_path, "t", {})
    for r in RECORDS:
        t.log(r)
    t.close()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    events = read_events(tmp_path / "tensorboard")
    assert [s for s, _ in events["loss"]] == [1, 2, 3, 4, 5, 6]
    assert events["lr"][-1][1] == pytest.approx(6e-4)
    assert events["val_loss/chat"] == [(3, pytest.approx(2.9))]
    assert events["evals/ifeval"] == [(3, 0.25)] and events["tokens_by_source/chat"][0] == (1, 100.0)
    assert [s for s, _ in events["rewards/margins"]] == [4, 5, 6]
    assert "step" not in events and "stage" not in events


def test_report_to_takes_trl_style_values_and_names_a_missing_package():
    model = Model(config={"model_type": "llama"})
    assert Run(mixture="m", model=model).report_to == ["tensorboard"]
    assert Run(mixture="m", model=model, report_to="none").report_to == []
    assert Run(mixture="m", model=model, report_to="all").report_to == ["tensorboard", "wandb"]
    assert scalars({"step": 1, "ok": True, "a": {"b": 2}}) == {"a/b": 2.0}
    if importlib.util.find_spec("wandb") is not None:
        pytest.skip("wandb is installed here")
    with pytest.raises(ForgeError, match=r"^run.report_to 'wandb': the wandb package is not installed; pip install"):
        check_installed(["wandb"])


def test_plot_shows_lr_evals_and_dpo_panels(tmp_path):
    out = plot_loss(RECORDS, tmp_path / "loss.png", title="t")
    plain = plot_loss([{k: v for k, v in r.items() if k in ("step", "stage", "loss", "lr")} for r in RECORDS],
                      tmp_path / "plain.png")
    from PIL import Image

    assert Image.open(out).size[1] > Image.open(plain).size[1]  # the score panel is there


def test_exact_match_compares_the_final_answer():
    assert exact_match("7 + 5 is twelve... Answer: 12.", "12")
    assert exact_match("so \\boxed{1,000}", "1000") and exact_match("#### $42$", "42")
    assert not exact_match("Answer: 13", "12") and not exact_match("", "12")


def test_prompt_sets_are_checked_naming_file_and_line(tmp_path):
    good = {"prompt": "Say hi without commas.", "instruction_id_list": ["punctuation:no_comma"], "kwargs": [{}]}
    path = tmp_path / "if.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "instruction_id_list": ["nope:x"]}) + "\n")
    spec = GenEval(name="ifeval", kind="ifeval", prompts=str(path))
    with pytest.raises(ForgeError, match=rf"^{path}:3: unknown instruction id 'nope:x'"):
        load_prompts(spec)
    one = load_prompts(spec.model_copy(update={"max_prompts": 1}))
    assert score(spec, one[0], "hi there", exact_match) and not score(spec, one[0], "hi, there", exact_match)
    math = tmp_path / "math.jsonl"
    math.write_text('{"prompt": "1+1?"}\n')
    with pytest.raises(ForgeError, match=rf"^{math}:1: a math prompt needs an `answer`"):
        load_prompts(GenEval(name="m", kind="math", prompts=str(math)))


def test_a_callable_verifier_is_recorded_by_its_import_path():
    spec = GenEval(name="m", kind="math", prompts="x.jsonl", verifier=exact_match)
    assert spec.model_dump(mode="json")["verifier"] == "training.evals:exact_match"
    from training.evals import resolve_verifier

    named = GenEval(name="m", kind="math", prompts="x.jsonl", verifier="training.evals:exact_match")
    assert resolve_verifier(named) is exact_match
    with pytest.raises(ForgeError, match="verifier 'training.evals:nope' cannot be imported"):
        resolve_verifier(named.model_copy(update={"verifier": "training.evals:nope"}))
