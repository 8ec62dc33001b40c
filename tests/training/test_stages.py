"""Runs with per-stage optimization, eval hooks and trackers, and runs continued from another run.

Real `forge train` subprocesses (DeepSpeed on its CPU accelerator, fp32), started together where
they are independent: the shipped stable -> decay -> sft example, a source run on the `pretrain`
mixture, then three runs on the `sft` mixture that start from it (weights only, weights and AdamW
state, its exported model).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .test_run import _cli, _done, _forge, _metrics
from .test_tracking import read_events

REPO = Path(__file__).resolve().parents[2]
MODEL = {"model_type": "llama", "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
         "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32, "tie_word_embeddings": True}
SOURCE = """
from training import DeepSpeed, Model, Optimizer, Run, Schedule

run = Run(name="src", mixture={mixture!r}, registry={registry!r}, model=Model(config={model!r}),
          deepspeed=DeepSpeed(zero_stage=1, micro_batch_size=2), optimizer=Optimizer(lr=3e-3),
          schedule=Schedule(kind="wsd", warmup=0.2, decay_stages=["decay"], min_lr_ratio=0.1), report_to="none")
"""
CONTINUED = """
from training import DeepSpeed, GenEval, Model, Optimizer, Run, StageOptim, StartFrom


def always(completion, answer):
    return True


run = Run(name="cont", mixture={mixture!r}, registry={registry!r}, model=Model(config={model!r}),
          deepspeed=DeepSpeed(zero_stage={zero}, micro_batch_size=2), optimizer=Optimizer(lr=3e-3),
          stage_optim={{"sft": StageOptim(lr=1e-3, kind="linear", min_lr_ratio=0.1)}},
          start_from={start}, eval_every=3, report_to="none",
          evals=[GenEval(name="yes", kind="math", prompts={prompts!r}, max_prompts=3, max_new_tokens=4,
                         verifier=always)])
"""
STARTS = {"weights": "StartFrom(run={src!r})", "optimizer": "StartFrom(run={src!r}, optimizer_state=True)",
          "model": "StartFrom(run={src!r}, checkpoint='model')"}


def _continued(tmp: Path, name: str, ids, registry, start: str, zero: int = 1) -> str:
    path = tmp / f"{name}.py"
    path.write_text(CONTINUED.format(mixture=ids["sft"], registry=str(registry), model=MODEL, zero=zero,
                                     start=start.format(src=str(tmp / "src")), prompts=str(tmp / "math.jsonl")))
    return str(path)


@pytest.fixture(scope="module")
def staged(built_mixtures, spark, tmp_path_factory):
    from mixtures.build import build_spec
    from training.examples import render_example

    registry, ids = built_mixtures
    tmp = tmp_path_factory.mktemp("staged")
    example_id = build_spec(REPO / "examples" / "mix" / "stages.py", registry, spark=spark).id
    (tmp / "stages.py").write_text(render_example("stages", example_id, registry))
    (tmp / "src.py").write_text(SOURCE.format(mixture=ids["pretrain"], registry=str(registry), model=MODEL))
    (tmp / "math.jsonl").write_text("".join(json.dumps({"prompt": f"{i} + 1?", "answer": str(i + 1)}) + "\n"
                                            for i in range(5)))
    example = _forge("train", str(tmp / "stages.py"), "--out", str(tmp / "example"))
    _done(_forge("train", str(tmp / "src.py"), "--out", str(tmp / "src")))
    runs = {name: _forge("train", _continued(tmp, name, ids, registry, start), "--out", str(tmp / name))
            for name, start in STARTS.items()}
    _done(example)
    for p in runs.values():
        _done(p)
    return {"tmp": tmp, "ids": ids, "registry": registry, "example": tmp / "example", "src": tmp / "src"}


def test_example_run_trains_stable_decay_sft_each_at_its_own_lr(staged):
    run = staged["example"]
    m = _metrics(run)
    stages = [r["stage"] for r in m]
    assert stages == sorted(stages, key=["stable", "decay", "sft"].index) and set(stages) == {"stable", "decay", "sft"}
    lr = {s: [r["lr"] for r in m if r["stage"] == s] for s in ("stable", "decay", "sft")}
    assert max(lr["stable"]) == lr["stable"][-1] == 3e-3
    assert all(a > b for a, b in zip(lr["decay"], lr["decay"][1:], strict=False))
    assert all(3e-4 < x < 3e-3 for x in lr["decay"])
    assert all(1e-4 < x <= 1e-3 for x in lr["sft"])  # its own, lower rate; never the decay's floor
    assert [r["step"] for r in m if r.get("optimizer_reset")] == [next(r["step"] for r in m if r["stage"] == "sft")]
    # eval hooks: every eval_every steps and at each stage's end, each score a pass rate
    ends = {s: max(r["step"] for r in m if r["stage"] == s) for s in lr}
    evals = {r["step"]: r["evals"] for r in m if "evals" in r}
    assert set(ends.values()) | {s for s in range(5, len(m) + 1, 5)} == set(evals)
    assert all(set(e) == {"ifeval", "math"} and all(0.0 <= v <= 1.0 for v in e.values()) for e in evals.values())
    assert all("val_loss" in r for r in m if "evals" in r)
    # TensorBoard by default, with the learning rate and the eval scores
    events = read_events(run / "tensorboard")
    assert [s for s, _ in events["loss"]] == [r["step"] for r in m]
    assert [v for _, v in events["lr"]] == pytest.approx([r["lr"] for r in m])
    assert sorted(s for s, _ in events["evals/ifeval"]) == sorted(evals)
    manifest = json.loads((run / "manifest.json").read_text())
    assert set(manifest["extra"]["evals"]) == {"ifeval", "math"}
    assert "Generation evals" in (run / "README.md").read_text() and (run / "loss.png").stat().st_size > 1000



def test_a_run_stopped_after_an_optimizer_reset_resumes_without_resetting_again(staged):
    full = _metrics(staged["example"])
    reset = next(r["step"] for r in full if r.get("optimizer_reset"))
    out, spec = staged["tmp"] / "stopped", str(staged["tmp"] / "stages.py")
    _done(_forge("train", spec, "--out", str(out), "--max-steps", str(reset)))
    _done(_forge("train", spec, "--out", str(out), "--resume"))
    resumed = _metrics(out)
    assert [r["loss"] for r in resumed] == [r["loss"] for r in full]
    assert [r["step"] for r in resumed if r.get("optimizer_reset")] == [reset]

def test_continue_from_a_run_with_and_without_optimizer_state(staged):
    src, tmp, ids = staged["src"], staged["tmp"], staged["ids"]
    first = _metrics(src)
    w, o, mo = (_metrics(tmp / n) for n in ("weights", "optimizer", "model"))
    assert len(w) == len(o) == len(mo) > 2 and {r["stage"] for r in w} == {"sft"}
    # the source's weights: the same first loss from its checkpoint or its exported model, well below
    # where the source itself started
    assert o[0]["loss"] == pytest.approx(w[0]["loss"], rel=1e-6)
    assert mo[0]["loss"] == pytest.approx(w[0]["loss"], rel=1e-6)
    assert w[0]["loss"] < first[0]["loss"] - 0.3
    # a fresh optimizer either way trains the same; the source's AdamW moments change the next steps
    assert [r["loss"] for r in mo] == pytest.approx([r["loss"] for r in w], rel=1e-5)
    assert abs(o[1]["loss"] - w[1]["loss"]) > 1e-6
    src_id = json.loads((src / "manifest.json").read_text())["id"]
    tag = f"step-{len(first):08d}"
    for name, checkpoint, opt in (("weights", tag, False), ("optimizer", tag, True), ("model", "model", False)):
        manifest = json.loads((tmp / name / "manifest.json").read_text())
        assert manifest["parents"] == [ids["sft"], src_id]
        start = manifest["extra"]["start_from"]
        assert (start["checkpoint"], start["optimizer_state"], start["run_id"]) == (checkpoint, opt, src_id)
        assert json.loads((tmp / name / "run.json").read_text())["start_from"] == start
    # the eval hook's numbers are what its verifier says (here: always right)
    assert [r["evals"] for r in w if "evals" in r] and all(r["evals"] == {"yes": 1.0} for r in w if "evals" in r)


def test_start_from_refusals_are_one_line_before_anything_starts(staged, capsys):
    tmp, ids, registry = staged["tmp"], staged["ids"], staged["registry"]
    cases = [(_continued(tmp, "r1", ids, registry, "StartFrom(run={src!r} + '-missing')"), "not a run directory"),
             (_continued(tmp, "r2", ids, registry, STARTS["optimizer"], zero=0), "needs the same ZeRO stage"),
             (_continued(tmp, "r3", ids, registry, "StartFrom(run={src!r}, checkpoint=999)"), "no complete checkpoint 999")]
    for spec, why in cases:
        code, out = _cli(capsys, "train", spec, "--out", str(tmp / "refused"))
        assert code == 2 and why in out and len(out.strip().splitlines()) == 1, out
        assert not (tmp / "refused").exists()


VLLM_SPEC = """
from training import DeepSpeed, GenEval, Model, Run, StageOptim, StartFrom
from training.examples import EXAMPLES_DIR

SET = str(EXAMPLES_DIR / "evals" / "ifeval.jsonl")
run = Run(name="vllm", mixture={mixture!r}, registry={registry!r}, model=Model(config={model!r}),
          deepspeed=DeepSpeed(zero_stage=0, micro_batch_size=2), stage_optim={{"sft": StageOptim(lr=1e-3)}},
          start_from=StartFrom(run={src!r}, checkpoint="model"), report_to="none",
          evals=[GenEval(name="hf", kind="ifeval", prompts=SET, max_new_tokens=8, backend="transformers"),
                 GenEval(name="vllm", kind="ifeval", prompts=SET, max_new_tokens=8, backend="vllm")])
"""


@pytest.mark.vllm
@pytest.mark.skipif(bool(__import__("os").environ.get("FORGE_SKIP_VLLM_TESTS")), reason="FORGE_SKIP_VLLM_TESTS is set")
def test_vllm_eval_backend_scores_the_same_weights_as_transformers(staged):
    pytest.importorskip("vllm")
    tmp, ids = staged["tmp"], staged["ids"]
    spec = tmp / "vllm.py"
    spec.write_text(VLLM_SPEC.format(mixture=ids["sft"], registry=str(staged["registry"]), model=MODEL,
                                     src=str(staged["src"])))
    _done(_forge("train", str(spec), "--out", str(tmp / "vllm-run")), timeout=1200)
    evals = [r["evals"] for r in _metrics(tmp / "vllm-run") if "evals" in r]
    assert evals and all(e["hf"] == e["vllm"] for e in evals), evals
    assert (tmp / "vllm-run" / "evals" / "weights" / "config.json").is_file()
