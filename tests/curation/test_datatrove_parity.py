"""Datatrove filters on Spark make exactly the decisions datatrove makes with its local executor."""

from __future__ import annotations

from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter
from datatrove.pipeline.writers import ParquetWriter

from curation import Pipeline, run_pipeline


def test_spark_decisions_match_datatrove_local_executor(spark, tmp_path, web_corpus, rows, write_jsonl):
    records = [{"id": f"d{i:04d}", "text": r["text"]} for i, r in enumerate(web_corpus)]
    src = write_jsonl(tmp_path / "corpus.jsonl", records)
    filters = [GopherQualityFilter, C4QualityFilter, FineWebQualityFilter]

    # datatrove, locally: reader -> filters (with exclusion writers recording drop reasons) -> collector
    kept_local: dict[str, str] = {}

    def read(data, rank, world_size):
        for r in records:
            yield Document(text=r["text"], id=r["id"])

    def collect(data, rank, world_size):
        for doc in data:
            kept_local[doc.id] = doc.text
            yield doc

    steps = [f(exclusion_writer=ParquetWriter(str(tmp_path / "excl" / f.__name__))) for f in filters]
    LocalPipelineExecutor(pipeline=[read, *steps, collect], tasks=1, workers=1,
                          logging_dir=str(tmp_path / "dt-logs")).run()
    dropped_local = {}
    for f in filters:
        for r in rows(tmp_path / "excl" / f.__name__):
            dropped_local[r["id"]] = (f.__name__, r["metadata"]["filter_reason"])

    # the same filter objects' classes, on Spark
    result = run_pipeline(Pipeline(steps=[f() for f in filters]), [str(src)], tmp_path / "out", spark=spark)
    kept_spark = {r["id"]: r["text"] for r in rows(result.out / "data")}
    dropped_spark = {r["id"]: (r["step"], r["reason"]) for r in rows(result.out / "ledger") if r["decision"] != "kept"}

    assert kept_spark == kept_local  # same documents, and the same text (C4 rewrites what it keeps)
    assert dropped_spark == dropped_local
    for f in filters:  # every filter had something to drop
        assert sum(1 for step, _ in dropped_spark.values() if step == f.__name__) > 0, f.__name__
