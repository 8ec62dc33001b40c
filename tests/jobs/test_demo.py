"""`forge demo` end to end on the embedded defaults (fewer walks than `make demo`), and its rerun commands."""

import json

import pytest

from dataforge.core.specs import load_module
from jobs.cli import main
from jobs.demo import run_demo, summary_tables


@pytest.fixture(scope="module")
def demo(spark, tmp_path_factory):
    return run_demo(tmp_path_factory.mktemp("demo") / "out", walks=12, seed=0)


def test_demo_runs_every_step_and_accounts_for_every_record(demo):
    specs = demo.out / "specs"
    assert sorted(p.name for p in specs.glob("*.py")) == ["graph.py", "mixture.py", "pipeline.py", "train.py"]
    for p in specs.glob("*.py"):
        load_module(p)  # each written spec is the exact, loadable spec that ran
    g, c = demo.generate, demo.curate
    assert g["walks"] == 12 and g["records"] > 0 and g["llm_calls"] > 0
    assert g["records"] + g["dropped"] + g["quarantined"] == g["walks"]
    assert c["kept"] + c["dropped"] + c["quarantined"] == c["funnel"][0]["in"]
    assert c["funnel"][0]["in"] > g["records"]  # generated records curated together with the web crawl
    assert {"exact_dup", "minhash_dup"} <= {k for row in c["funnel"] for k in row["reasons"]}
    parents = json.loads((demo.out / "curated" / "manifest.json").read_text())["parents"]
    assert g["id"] in parents


def test_demo_mixture_and_training_follow_both_stages(demo):
    stages = demo.mixture["stages"]
    assert [s["name"] for s in stages] == ["stable", "sft"]
    for st in stages:
        for s in st["sources"].values():
            assert abs(s["target_weight"] - s["realized_weight"]) <= 0.005
    t = demo.train
    assert t["complete"] and [s["stage"] for s in t["stage_losses"]] == ["stable", "sft"]
    assert all(s["loss"] > 0 for s in t["stage_losses"])
    assert (demo.out / "run" / "model" / "config.json").is_file()
    assert len(summary_tables(demo)) == 4
    assert demo.mixture["planned"] == [{k: s[k] for k in p} for s, p in zip(stages, demo.mixture["planned"],
                                                                              strict=True)]  # plan == build


def test_demo_writes_every_picture(demo):
    assert set(demo.pictures) == {"generator funnel per node", "curation funnel, every reason", "mixture plan",
                                  "mixture as built (card)", "learning rate plan", "training loss"}
    for path in demo.pictures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000, path


def test_demo_rerun_commands_reuse_what_is_done(demo, capsys):
    d = demo.out
    assert main(["mix", "build", str(d / "specs" / "mixture.py"), "--registry", str(d / "registry")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == demo.mixture["id"]  # same id: a no-op
    assert main(["generate", str(d / "specs" / "graph.py"), "--out", str(d / "generated-again"),
                 "--cache", str(d / "cache")]) == 0
    again = json.loads((d / "generated-again" / "manifest.json").read_text())
    assert again["counts"]["llm_calls"] == 0 and again["id"] == demo.generate["id"]


def test_demo_dir_is_rerun_only_with_overwrite(demo, capsys):
    from tests.reliability.conftest import snapshot

    before = snapshot(demo.out)
    assert main(["demo", "--out", str(demo.out), "--walks", "12"]) == 2
    assert "already holds a demo output; pass --overwrite" in capsys.readouterr().err
    assert snapshot(demo.out) == before
