"""Every shipped curation example loads, and runs on the shipped web corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from curation import as_pipeline, run_pipeline, web_demo_path, web_demo_warc_path
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
    else:  # the FineWeb example starts from the crawl: WARC records, not JSONL
        src = web_demo_warc_path() if example.stem == "fineweb" else web_demo_path()
        result = run_pipeline(pipeline, [str(src)], tmp_path / "out", spark=spark)
    c = result.manifest.counts
    assert c["kept"] > 0 and c["kept"] + c["dropped"] + c["quarantined"] == c["input"]
    assert [f["step"] for f in result.funnel] == ["read", *pipeline.step_names()]


def test_shipped_crawl_is_web_pages_zero_and_fully_accounted(tmp_path):
    from curation.warc import warc_rows
    from curation.warc_corpus import web_pages, write_warc

    assert write_warc(tmp_path / "w.warc.gz", web_pages(0)).read_bytes() == web_demo_warc_path().read_bytes()
    rows = list(warc_rows(0, f"file:{web_demo_warc_path()}", "w", 10_000_000))
    assert len(rows) == 1 + 2 * (len(web_pages(0)) + 3)  # warcinfo, then request + response per page
    assert web_demo_warc_path().stat().st_size < 400_000
