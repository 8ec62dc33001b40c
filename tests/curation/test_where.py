import pytest
from datatrove.pipeline.filters import GopherQualityFilter

from curation import ExactDedup, Pipeline, Where, run_pipeline
from dataforge.core.errors import SpecError

QA = [{"role": "user", "content": "What is the capital of France?"},
      {"role": "assistant", "content": "Paris is the capital of France."}]


def test_where_scopes_a_datatrove_filter_to_text_records(spark, tmp_path, web_corpus, rows, write_jsonl):
    article = next(r["text"] for r in web_corpus if r["metadata"]["kind"] == "clean")
    src = write_jsonl(tmp_path / "in.jsonl", [
        {"id": "article", "text": article},
        {"id": "short-text", "text": "Paris is the capital of France."},
        {"id": "short-chat", "messages": QA},
        {"id": "short-chat-copy", "messages": QA},
    ])
    pipeline = Pipeline(steps=[ExactDedup(), Where(GopherQualityFilter(), kind="text")])
    result = run_pipeline(pipeline, [str(src)], tmp_path / "out", spark=spark)
    ledger = {r["id"]: (r["step"], r["decision"], r["reason"]) for r in rows(result.out / "ledger")}
    assert ledger["short-text"] == ("GopherQualityFilter", "dropped", "gopher_short_doc")
    assert ledger["short-chat"] == (None, "kept", None)  # the same words as a chat record pass Gopher
    assert ledger["short-chat-copy"][2] == "exact_dup"  # dedup still sees every record
    assert ledger["article"] == (None, "kept", None)
    inner = result.manifest.config["steps"][1]
    assert inner["step"] == "Where" and inner["kind"] == "text" and inner["inner"]["step"] == "GopherQualityFilter"


def test_where_needs_a_scope_and_a_record_step():
    with pytest.raises(SpecError, match="^Where: give kind= and/or sources="):
        Where(GopherQualityFilter())
    with pytest.raises(SpecError, match="dataset steps such as dedup"):
        Where(ExactDedup(), kind="text")
