"""Every shipped curation example loads, and runs on the shipped web corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation import as_pipeline, run_pipeline, web_demo_path
from curation.corpus import make_web_corpus
from dataforge.core.specs import load_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "curate").glob("*.py"))


def test_shipped_corpus_is_make_web_corpus_zero(web_corpus):
    assert web_corpus == make_web_corpus(0)
    kinds = {r["metadata"]["kind"] for r in web_corpus}
    assert {"clean", "exact_dup", "near_dup", "boilerplate", "symbols", "short", "repeated_lines", "foreign"} <= kinds
    assert web_demo_path().stat().st_size < 400_000


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_shipped_example_runs(example, spark, tmp_path, web_run):
    pipeline = as_pipeline(load_spec(example, "pipeline"), where=str(example))
    if example.stem == "web":  # already run once for the whole session (the `web_run` fixture)
        result = web_run
    else:
        result = run_pipeline(pipeline, [str(web_demo_path())], tmp_path / "out", spark=spark)
    c = result.manifest.counts
    assert c["kept"] > 0 and c["kept"] + c["dropped"] + c["quarantined"] == c["input"]
    assert [f["step"] for f in result.funnel] == ["read", *pipeline.step_names()]
