"""The ledger accounts for every input record, and the stores beside the data keep what was removed."""

from __future__ import annotations

import json
from collections import Counter

from dataforge.core.manifest import Manifest


def test_ledger_accounts_for_every_input_record(web_run, web_corpus, rows):
    ledger = rows(web_run.out / "ledger")
    assert len(ledger) == len(web_corpus)
    assert len({r["input"] for r in ledger}) == len(web_corpus)  # one row per input line
    by = Counter(r["decision"] for r in ledger)
    counts = web_run.manifest.counts
    assert by["kept"] + by["dropped"] + by["quarantined"] == counts["input"] == len(web_corpus)
    assert (by["kept"], by["dropped"], by["quarantined"]) == (counts["kept"], counts["dropped"], counts["quarantined"])
    assert len(rows(web_run.out / "data")) == by["kept"]
    assert len(rows(web_run.out / "dropped")) == by["dropped"]


def test_ledger_rows_carry_input_ids_steps_and_clusters(web_run, web_corpus, rows):
    ledger = {r["input"]: r for r in rows(web_run.out / "ledger")}
    for n, rec in enumerate(web_corpus, 1):
        row = ledger[f"web_demo.jsonl:{n}"]
        if "id" in rec:
            assert row["id"] == rec["id"]  # input ids are kept
        kind = rec["metadata"]["kind"]
        if kind in ("symbols", "short", "foreign", "boilerplate"):
            assert row["decision"] == "dropped", (kind, row)
        if kind == "clean" and row["decision"] == "dropped":
            assert row["reason"] in ("exact_dup", "minhash_dup")  # only as a copy's survivor lost a tie
        if row["reason"] in ("exact_dup", "minhash_dup"):
            assert row["cluster_id"]  # equal to the id only for identical texts without ids
            assert any(r["id"] == row["cluster_id"] for r in ledger.values())
    # every planted copy is gone, one document of each copy group survives
    kept_text = [r["text"] for r in rows(web_run.out / "data")]
    assert len(kept_text) == len(set(kept_text))


def test_funnel_manifest_and_report_agree_with_the_ledger(web_run, rows):
    m = Manifest.read(web_run.out)
    assert m.kind == "curated" and m.verify(web_run.out) == []
    assert (web_run.out / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    funnel = m.extra["funnel"]
    steps = [f["step"] for f in funnel]
    assert steps == ["read", "ExactDedup", "MinHashDedup", "RepetitionFilter", "GopherQualityFilter",
                     "C4QualityFilter", "FineWebQualityFilter"]
    ledger = rows(web_run.out / "ledger")
    for f in funnel[1:]:
        assert f["dropped"] == sum(1 for r in ledger if r["step"] == f["step"]) > 0
        assert f["in"] - f["dropped"] == f["out"]
    assert funnel[-1]["out"] == m.counts["kept"]
    assert json.loads(json.dumps(m.config))["steps"][1]["step"] == "MinHashDedup"


def test_dropped_store_holds_whole_records_to_reverse_any_decision(web_run, web_corpus, rows):
    dropped = rows(web_run.out / "dropped")
    by_input = {f"web_demo.jsonl:{n}": rec for n, rec in enumerate(web_corpus, 1)}
    for d in dropped:
        src = by_input[d["input"]]
        assert d["reason"] and d["step"]
        if d["step"] in ("ExactDedup", "MinHashDedup", "RepetitionFilter", "GopherQualityFilter"):
            assert d["text"] == src["text"]  # untouched by the steps before it
        assert json.loads(d["metadata"])["kind"] == src["metadata"]["kind"]
