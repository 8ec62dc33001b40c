"""This package's record and dataset steps, in one Spark run over a crafted corpus."""

from __future__ import annotations

import json

import pytest

from curation import (
    Decontaminate,
    LanguageFilter,
    Pipeline,
    QualityClassifier,
    RepetitionFilter,
    SemanticDedup,
    run_pipeline,
    train_classifier,
)
from curation.filters.repetition import longest_repeat
from curation.text import TokenHasher, words
from dataforge.core.hashing import sha256_file
from jobs.cli import main as forge


def _clean(web_corpus, k):
    return [r["text"] for r in web_corpus if r["metadata"]["kind"] == "clean"][k]


def _one_per_topic(web_corpus, skip: set[str]) -> list[str]:
    """Clean pages on distinct topics (same-topic template prose sits near 0.7 cosine)."""
    seen, out = set(skip), []
    for r in web_corpus:
        if r["metadata"]["kind"] == "clean" and r["metadata"]["topic"] not in seen:
            seen.add(r["metadata"]["topic"])
            out.append(r["text"])
    return out


def test_longest_repeat_finds_spans_up_to_thirteen_tokens():
    h = TokenHasher()
    span = "one two three four five six seven eight nine ten eleven twelve thirteen "
    assert longest_repeat(h.hashes(words("intro " + span * 33 + "outro")), 1, 13) == (33, 13)
    assert longest_repeat(h.hashes(words("a b " * 5)), 1, 13)[0] == 5
    assert longest_repeat(h.hashes(words(span * 40)), 1, 12)[0] < 32  # a 13-token span needs period 13


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, web_corpus, write_jsonl):
    d = tmp_path_factory.mktemp("clf")
    good = [r for r in web_corpus if r["metadata"]["kind"] == "clean"][:90]
    bad = [r for r in web_corpus if r["metadata"]["kind"] not in ("clean", "exact_dup", "near_dup", "few_sentences",
                                                                    "template_code", "dup_paragraph")]
    pos, neg = write_jsonl(d / "pos.jsonl", good), write_jsonl(d / "neg.jsonl", bad)
    return pos, neg, d


def test_train_classifier_is_deterministic_and_pinned(classifier, tmp_path):
    pos, neg, _ = classifier
    assert forge(["curate", "train-classifier", "--positive", str(pos), "--negative", str(neg),
                  "--out", str(tmp_path / "a")]) == 0
    m = train_classifier([pos], [neg], tmp_path / "b")
    assert sha256_file(tmp_path / "a" / "model.bin") == sha256_file(tmp_path / "b" / "model.bin") == m.extra["sha256"]
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["id"] == m.id and m.kind == "classifier"
    q = QualityClassifier(model=str(tmp_path / "b"), sha256="0" * 64)
    with pytest.raises(Exception, match="sha256"):
        q.prepare(None)


def test_record_and_semantic_steps_on_spark(spark, tmp_path, web_corpus, classifier, rows, write_jsonl):
    pos, neg, d = classifier
    model = train_classifier([pos], [neg], d / "model")
    clean = [r for r in web_corpus if r["metadata"]["kind"] == "clean"]
    base, other = clean[100]["text"], clean[101]["text"]
    distinct = _one_per_topic(web_corpus, {clean[100]["metadata"]["topic"], clean[101]["metadata"]["topic"]})
    paras = base.split("\n")
    # a semantic duplicate that MinHash would miss: a paragraph dropped and the others reordered
    paraphrase = "\n".join([paras[2], paras[0]])
    bench_item = other.split(". ")[1]
    (tmp_path / "bench.jsonl").write_text(json.dumps({"question": bench_item, "answer": "B"}) + "\n")
    recs = [
        {"id": "base", "text": base},
        {"id": "para", "text": paraphrase},
        {"id": "contaminated", "text": other},
        {"id": "repeats", "text": "Great deals today. " + "click here now " * 40},
        {"id": "french", "text": [r for r in web_corpus if r["metadata"]["topic"] == "fr"][0]["text"]},
        {"id": "chat-fr", "messages": [{"role": "user", "content": "Bonjour, comment allez-vous aujourd'hui ?"},
                                       {"role": "assistant", "content": "Très bien, merci. Et vous, ça va ?"}]},
        {"id": "junk", "text": "Home | Shop | Cart | Login | Register | Help | Contact us | Newsletter sign up"},
        *[{"id": f"ok{i}", "text": t} for i, t in enumerate(distinct)],
    ]
    src = write_jsonl(tmp_path / "in.jsonl", recs)
    steps = [SemanticDedup(threshold=0.7), LanguageFilter(languages=["en"], threshold=0.5), RepetitionFilter(),
             Decontaminate(benchmarks=[str(tmp_path / "bench.jsonl")], n=13),
             QualityClassifier(model=str(d / "model"), threshold=0.5)]
    result = run_pipeline(Pipeline(steps=steps), [str(src)], tmp_path / "out", spark=spark)
    ledger = {r["id"]: (r["step"], r["reason"]) for r in rows(result.out / "ledger")}
    assert ledger["para"] == ("SemanticDedup", "semantic_dup")  # "base" < "para": base survives
    assert ledger["base"] == (None, None)
    assert ledger["french"] == ("LanguageFilter", "lang_fr")
    assert ledger["chat-fr"] == ("LanguageFilter", "lang_fr")  # chat judged by its message contents
    assert ledger["repeats"][0] in ("LanguageFilter", "RepetitionFilter")
    assert ledger["contaminated"] == ("Decontaminate", "contaminated")
    assert ledger["junk"][1] in ("low_quality", "lang_low_score") or ledger["junk"][1].startswith("lang_")
    assert all(ledger[f"ok{i}"] == (None, None) for i in range(len(distinct)))
    kept = {r["id"]: json.loads(r["metadata"]) for r in rows(result.out / "data")}
    assert kept["ok0"]["language"] == "en" and 0.5 <= kept["ok0"]["quality_score"] <= 1
    config = {s["step"]: s for s in result.manifest.config["steps"]}
    assert config["QualityClassifier"]["sha256"] == model.extra["sha256"]  # the model is pinned
    assert config["LanguageFilter"]["sha256"] and config["Decontaminate"]["ngrams"] > 0
