"""LLMJudgeFilter: DataForge's rubric judge with the embedded LLM, inside a Spark curation job."""

from __future__ import annotations

import json

from curation import LLMJudgeFilter, Pipeline, run_pipeline


def test_llm_judge_scores_every_record_and_accounts_for_it(spark, tmp_path, web_corpus, rows, write_jsonl):
    clean = [r for r in web_corpus if r["metadata"]["kind"] == "clean"][:2]
    recs = [{"id": f"c{i}", "text": r["text"]} for i, r in enumerate(clean)]
    recs.append({"id": "junk", "text": "Home | Shop | Cart | Login | Help"})
    src = write_jsonl(tmp_path / "in.jsonl", recs)
    judge = LLMJudgeFilter(rubric="Informative, well-written English prose.", threshold=3, max_tokens=24,
                           max_chars=300, retries=0)
    result = run_pipeline(Pipeline(steps=[judge]), [str(src)], tmp_path / "out", spark=spark)
    ledger = {r["id"]: r for r in rows(result.out / "ledger")}
    assert set(ledger) == {"c0", "c1", "junk"}
    kept = {r["id"]: json.loads(r["metadata"]) for r in rows(result.out / "data")}
    for rid, row in ledger.items():
        assert (row["decision"], row["reason"]) in {("kept", None), ("dropped", "judge_low_score"),
                                                    ("quarantined", "judge_unparseable")}
        if row["decision"] == "kept":
            assert 3 <= kept[rid]["judge_score"] <= 5 and isinstance(kept[rid]["judge_rationale"], str)
    cfg = result.manifest.config["steps"][0]
    assert cfg["step"] == "LLMJudgeFilter" and cfg["backend"]["model"] == "embedded"
