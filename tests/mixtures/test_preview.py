"""`forge mix plan`: the build's own numbers before any build, and nothing written but the PNG asked for."""

from __future__ import annotations

import re

from dataforge.core.manifest import Manifest
from jobs.cli import main as forge
from mixtures.charts import epoch_warnings
from tests.reliability.conftest import snapshot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _row(out: str, *cells: str) -> bool:
    """Whether a table line of `out` holds these cells, in order."""
    pattern = r"\W+".join(re.escape(c) for c in cells)
    return any(re.search(pattern, line) for line in out.splitlines())


def test_mix_plan_prints_what_the_build_committed_and_writes_nothing_beside_the_spec(example, capsys, tmp_path):
    spec = example["spec"]
    before = snapshot(spec.parent), sorted(p.name for p in example["registry"].iterdir())
    png = tmp_path / "plan.png"
    assert forge(["mix", "plan", str(spec), "--registry", str(example["registry"]), "--png", str(png)]) == 0
    out = capsys.readouterr().out
    assert (snapshot(spec.parent), sorted(p.name for p in example["registry"].iterdir())) == before
    built = Manifest.read(example["registry"] / example["id"]).extra
    for st in built["stages"]:
        for name, s in st["sources"].items():
            assert _row(out, st["name"], name, f"{s['target_weight']:.4f}", f"{s['tokens']:,}", f"{s['docs']:,}",
                        f"{s['epochs']:.3f}", str(st["seq_len"])), (st["name"], name, out)
    for name, s in built["sources"].items():
        assert _row(out, name, s["kind"], f"{s['train_docs']:,}", f"{s['train_tokens']:,}"), out
    assert out.strip().splitlines()[-1] == str(png)
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5000


def test_mix_plan_refuses_an_existing_png_before_any_work(example, capsys, tmp_path):
    taken = tmp_path / "taken.png"
    taken.write_bytes(b"not mine")
    assert forge(["mix", "plan", str(example["spec"]), "--png", str(taken)]) == 2
    assert "already exists" in capsys.readouterr().err and taken.read_bytes() == b"not mine"


def test_sources_near_max_epochs_are_warned_about():
    stages = [{"name": "a", "sources": {"web": {"epochs": 0.5}, "math": {"epochs": 1.0}}},
              {"name": "b", "sources": {"math": {"epochs": 2.3}}}]
    lines = epoch_warnings(stages, {"web": {"max_epochs": None}, "math": {"max_epochs": 4}})
    assert len(lines) == 1 and lines[0].startswith("source math: 3.30 epochs") and "82%" in lines[0]
    assert epoch_warnings(stages, {"web": {"max_epochs": 1}, "math": {"max_epochs": 5}}) == []
