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


def test_per_record_steps_run_document_by_document_and_share_tokenization(web_corpus, monkeypatch):
    from datatrove.utils.word_tokenizers import SpaCyTokenizer

    from curation import ExactDedup, Where
    from curation.steps.base import Doc
    from curation.steps.datatrove import DatatroveStep
    from curation.steps.fused import _apply, segments

    filters = [GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]
    steps = [(type(f).__name__, DatatroveStep(f)) for f in filters]
    assert [(mode, len(seg)) for mode, seg in segments(steps)] == [(True, 3)]
    scoped = [("a", Where(GopherQualityFilter(), kind="text")), ("b", ExactDedup())]
    assert [mode for mode, _ in segments(scoped)] == [True, False]

    calls = []
    real = SpaCyTokenizer.word_tokenize
    monkeypatch.setattr(SpaCyTokenizer, "word_tokenize", lambda self, text: calls.append(text) or real(self, text))
    texts = [r["text"] for r in web_corpus]

    def verdicts(segs):
        calls.clear()
        for s in steps:
            s[1].open()
        out = [None] * len(texts)
        _apply(segs, [Doc(id=str(i), text=t) for i, t in enumerate(texts)], out)
        return out, len(calls)

    by_doc, n_by_doc = verdicts(segments(steps))
    by_step, n_by_step = verdicts([(False, steps)])  # every doc through one step, then the next
    assert by_doc == by_step and any(by_doc) and not all(by_doc)
    assert n_by_doc <= len(texts) < n_by_step  # Gopher's word split is reused by FineWeb


def test_kept_vocabulary_gives_the_same_tokens_and_stays_bounded(web_corpus, monkeypatch):
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    from curation.steps import spacy_vocab

    texts = [r["text"] for r in web_corpus[:40]]
    tok = load_word_tokenizer("en")
    tok._tokenizer = None  # a fresh pipeline with datatrove's own memory zones
    before = [tok.word_tokenize(t) for t in texts]
    spacy_vocab.keep_vocab("en")
    nlp = tok._tokenizer
    assert [tok.word_tokenize(t) for t in texts] == before
    grown = len(nlp.vocab)
    monkeypatch.setattr(spacy_vocab, "MAX_LEXEMES", grown - 1)
    spacy_vocab.keep_vocab("en")  # past the bound: a fresh tokenizer, still without zones
    assert tok._tokenizer is not nlp and len(tok._tokenizer.vocab) < grown
    assert [tok.word_tokenize(t) for t in texts] == before
