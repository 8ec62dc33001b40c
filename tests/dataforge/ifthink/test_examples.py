"""The shipped IFThink example loads and runs, through the Python API and through `forge generate`."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from dataforge import generate, load_generate_spec, resolve_seeds
from dataforge.core.manifest import Manifest
from jobs.cli import main

EXAMPLE = Path(__file__).parents[3] / "examples" / "ifthink" / "ifthink.py"


def test_ifthink_example_runs(embedded_llm, monkeypatch):
    monkeypatch.setenv("FORGE_EXAMPLE_SMOKE", "1")
    spec = load_generate_spec(EXAMPLE)
    seeds = resolve_seeds(spec.seeds, spec.graph, base=EXAMPLE.parent)
    assert len(seeds) == 16 and {s.thinking for s in seeds} == {True, False}
    result = generate(spec.graph, seeds[:2], backend=embedded_llm, use_cache=False)
    t = result.stats.totals
    assert t["walks"] == 2 == t["records"] + t["quarantined"] and t["llm_calls"] > 0
    for row in result.quarantined:  # early stop: the failing turn and its answer are in the lineage
        step = json.loads(row["metadata"])["generator"]["steps"][-1]
        if row["node"].startswith("turn_"):
            turn = int(row["node"].removeprefix("turn_"))
            assert step["failures"][0]["turn"] == turn and len(step["assistant"]) == turn


def test_ifthink_example_runs_with_forge_generate(spark, tmp_path, monkeypatch):
    monkeypatch.setenv("FORGE_EXAMPLE_SMOKE", "1")
    out = tmp_path / "ifthink"
    assert main(["generate", str(EXAMPLE), "--out", str(out), "--walks", "2", "--no-cache", "--partitions", "1"]) == 0
    manifest = Manifest.read(out)
    assert manifest.kind == "generated" and manifest.counts["walks"] == 2
    assert manifest.counts["records"] + manifest.counts["quarantined"] == 2
    data = pq.read_table(out / "data").to_pylist() if list((out / "data").glob("*.parquet")) else []
    quarantine = pq.read_table(out / "quarantine").to_pylist()
    assert len(data) + len(quarantine) == 2
    for row in data:
        assert row["chat_template_kwargs"]["enable_thinking"] == (json.loads(row["metadata"])["ifthink"]["mode"] == "think")
    for row in quarantine:
        assert row["detail"].startswith("turn ") or row["reason"] in {"missing_think", "empty_answer"}
