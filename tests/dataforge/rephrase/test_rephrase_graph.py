"""The rephrasing graph on the embedded LLM: long documents chunk by chunk, fidelity quarantine, and
the exposure cap across two runs. Token budgets are tiny: these tests check the machinery, not prose."""

from __future__ import annotations

import json

from dataforge import CallCache, Document, Sampling, generate
from dataforge.rephrase import ExposureLedger, RephraseConfig, rephrase_graph, token_counter

from .docs import long_document

TINY = Sampling(max_tokens=8, temperature=0.0)


def _config(tmp_path, **kw) -> RephraseConfig:
    base = {"styles": ("encyclopedic", "lecture"), "ledger": str(tmp_path / "ledger"), "sampling": TINY,
            "chunk_tokens": 64, "allow_truncated": True, "min_fidelity": -1.0, "min_chunk_fidelity": -1.0}
    return RephraseConfig(**{**base, **kw})


def _meta(row) -> dict:
    return json.loads(row["metadata"])


def test_document_longer_than_context_is_rephrased_chunk_by_chunk(tmp_path, embedded_llm):
    doc = long_document(70)
    assert token_counter()([doc])[0] > 8192  # SmolLM2-135M's context
    config = _config(tmp_path, styles=("study_notes",), chunk_tokens=3000)
    result = generate(rephrase_graph(config), [Document(id="long", text=doc)], backend=embedded_llm,
                      use_cache=False, emit_calls=True)
    assert result.stats.totals["records"] == 1, result.quarantined
    record = result.records[0]
    summary = _meta(record)["rephrase"]
    calls = [c for c in result.calls if c["source"].endswith(":rephrase_study_notes")]
    assert summary["chunks"] == len(calls) >= 3
    replies = [c["messages"][-1]["content"].strip() for c in calls]
    for k in range(1, len(calls)):
        prompt = calls[k]["messages"][1]["content"]
        assert "<previous>\n" + replies[k - 1] + "\n</previous>" in prompt  # autoregressive: k sees k-1
    assert "<previous>" not in calls[0]["messages"][1]["content"]
    assert record["text"] == "\n\n".join(replies)  # stitched in order into one document
    assert len(summary["chunk_fidelity"]) == summary["chunks"] and -1 <= summary["fidelity"] <= 1


def test_low_fidelity_rephrase_is_quarantined_with_its_scores(tmp_path, embedded_llm):
    config = _config(tmp_path, styles=("young_reader",), min_fidelity=0.999)
    doc = Document(id="d1", text="Water boils at 100 degrees Celsius at sea level. Salt raises the boiling point.")
    result = generate(rephrase_graph(config), [doc], backend=embedded_llm, use_cache=False)
    assert result.stats.totals["records"] == 0
    (row,) = result.quarantined
    assert row["reason"] == "low_fidelity" and "< 0.999" in row["detail"] and "'chunks'" in row["detail"]
    fidelity = [s for s in _meta(row)["generator"]["steps"] if s["node"] == "fidelity"][0]["fidelity"]
    assert fidelity["document"] < 0.999 and len(fidelity["chunks"]) == 1
    assert ExposureLedger(config.ledger).prior("d1") == 0  # a quarantined rephrase is not an exposure


def test_llm_judge_grades_every_chunk(tmp_path, embedded_llm):
    config = _config(tmp_path, styles=("encyclopedic",), judge=True, judge_threshold=1.0,
                     judge_sampling=Sampling(max_tokens=12, temperature=0.0))
    doc = Document(id="d1", text="The Amber river runs 40 km to the sea.\n\nIt was surveyed in 1801 by a team of six.")
    result = generate(rephrase_graph(config), [doc], backend=embedded_llm, use_cache=False)
    assert result.stats.node("judge")["llm_calls"] >= 1
    if result.records:
        summary = _meta(result.records[0])["rephrase"]
        assert 1 <= summary["judge_score"] <= 5
    else:  # the 135M model may not produce a score; that is quarantined, never kept or dropped silently
        (row,) = result.quarantined
        assert row["reason"] in {"judge_unparsed", "judge_low"} and row["node"] == "judge"


def test_exposure_cap_holds_across_two_runs(tmp_path, embedded_llm):
    config = _config(tmp_path)
    graph = rephrase_graph(config)
    a = Document(id="doc-a", text="The Birch river floods every spring.")
    b = Document(id="doc-b", text="Cedar wood resists rot and insects.")
    # Run 1: three walks per document; the cap (2) refuses each document's third walk.
    cache = CallCache(tmp_path / "calls")
    first = generate(graph, [a, b], walks=6, seed=0, backend=embedded_llm, cache=cache)
    assert first.stats.totals["records"] == 4
    refused = [q for q in first.quarantined if q["reason"] == "exposure_cap"]
    assert len(refused) == 2 and {"doc-a", "doc-b"} == {_meta(q)["generator"]["seed_doc_id"] for q in refused}
    assert "exposure cap of 2" in refused[0]["detail"] and "refused" in refused[0]["detail"]
    ledger = ExposureLedger(config.ledger)
    assert ledger.prior("doc-a") == ledger.prior("doc-b") == 2
    # Run 2 (another seed, same ledger): a and b are refused, a new document still goes through.
    c = Document(id="doc-c", text="Delta towns trade salt and fish.")
    second = generate(graph, [a, b, c], walks=3, seed=1, backend=embedded_llm, use_cache=False)
    reasons = {_meta(q)["generator"]["seed_doc_id"]: q["reason"] for q in second.quarantined}
    assert reasons == {"doc-a": "exposure_cap", "doc-b": "exposure_cap"}
    assert [_meta(r)["rephrase"]["source_id"] for r in second.records] == ["doc-c"]
    # Rerunning run 1 (from the call cache) is not a new exposure: the same walks are admitted again.
    again = generate(graph, [a, b], walks=6, seed=0, backend=embedded_llm, cache=cache)
    assert again.stats.totals["llm_calls"] == 0
    assert sorted(r["id"] for r in again.records) == sorted(r["id"] for r in first.records)
    assert ledger.prior("doc-a") == 2
