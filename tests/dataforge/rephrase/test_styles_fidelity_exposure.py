"""Prompt bank, MiniLM fidelity scores and the cross-run exposure ledger (no LLM needed)."""

from __future__ import annotations

import pytest

from dataforge.core.errors import ForgeError
from dataforge.rephrase.exposure import ExposureLedger
from dataforge.rephrase.fidelity import FidelityScorer
from dataforge.rephrase.styles import STYLES, RephraseStyle, get_style, register_style

REQUIRED = {"encyclopedic", "question_answer", "study_notes", "lecture", "young_reader", "dialogue", "translation"}


def test_prompt_bank_has_the_required_styles_and_at_least_eight():
    assert REQUIRED <= set(STYLES) and len(STYLES) >= 8


def test_every_style_renders_chunk_and_previous_rephrase():
    for style in STYLES.values():
        first = style.messages("Water boils at 100 C.")
        later = style.messages("Ice melts at 0 C.", previous="At 100 C, water boils.")
        assert first[0]["role"] == "system" and "Water boils at 100 C." in first[1]["content"]
        assert "At 100 C, water boils." in later[1]["content"] and "previous" not in first[1]["content"]


def test_translation_style_takes_its_target_language_from_params():
    german = STYLES["translation"].with_params(target_language="German")
    assert "German" in german.messages("Hello.")[1]["content"]
    assert german.key != STYLES["translation"].key


def test_user_styles_validate_and_register():
    haiku = RephraseStyle(name="haiku_cycle", instruction="Rewrite the text as {{ n }} haiku.", params={"n": 3})
    assert "3 haiku" in haiku.messages("x")[1]["content"]
    register_style(haiku)
    assert get_style("haiku_cycle") is haiku
    with pytest.raises(ForgeError, match="already exists"):
        register_style(haiku)
    with pytest.raises(ValueError, match=r"^RephraseStyle\(.Bad Name.\)\.name: style name .Bad Name.: use 1-64 lowercase"):
        RephraseStyle(name="Bad Name", instruction="x")
    with pytest.raises(ValueError, match="does not parse"):
        RephraseStyle(name="broken", instruction="{% if %}")
    with pytest.raises(ForgeError, match="'n' is undefined"):
        RephraseStyle(name="unset", instruction="{{ n }}").messages("x")
    with pytest.raises(ForgeError, match="unknown rephrase style"):
        get_style("sonnet")
    STYLES.pop("haiku_cycle")


@pytest.fixture(scope="module")
def scorer():
    return FidelityScorer()


def test_faithful_rephrase_scores_higher_than_unrelated_text(scorer):
    src = [["Water boils at 100 degrees Celsius at sea level.", "The moon's gravity causes ocean tides."]]
    good = [["At sea level, water reaches its boiling point at 100 C.", "Ocean tides are caused by lunar gravity."]]
    bad = [["The stock market closed lower today.", "My favourite colour is green."]]
    g, b = scorer.score(src, good)[0], scorer.score(src, bad)[0]
    assert g.document > 0.7 > 0.3 > b.document
    assert len(g.chunks) == 2 and min(g.chunks) > max(b.chunks)


def test_document_score_reads_past_minilm_256_token_window(scorer):
    head = "Volcanoes form where tectonic plates meet and magma rises. " * 30
    same_tail = head + "Glaciers carve valleys over thousands of years. " * 30
    other_tail = head + "Interest rates affect mortgage payments and savings. " * 30
    a, b = scorer.score([[same_tail]] * 2, [[same_tail], [other_tail]])
    assert a.document > b.document + 0.05  # a first-window-only embedding would score both the same


def test_exposure_cap_counts_other_runs_and_admits_by_ordinal(tmp_path):
    ledger = ExposureLedger(tmp_path / "ledger")
    run1, run2 = ("graph-a", 0), ("graph-a", 1)
    # Run 1: walks 0 and 1 of doc-a are admitted, walk 2 is past the cap of 2.
    assert [ledger.decide("doc-a", k, 2, run1) is None for k in (0, 1, 2)] == [True, True, False]
    ledger.record("doc-a", "w0", run1, {"style": "lecture"})
    ledger.record("doc-a", "w1", run1, {"style": "dialogue"})
    ledger.record("doc-b", "w2", run1)
    assert ledger.prior("doc-a") == 2 and ledger.prior("doc-a", run1) == 0
    # Run 2 (another seed): doc-a is at the cap, doc-b has one slot left.
    refusal = ledger.decide("doc-a", 0, 2, run2)
    assert refusal is not None and "doc-a" in refusal.message and "cap of 2" in refusal.message
    assert [ledger.decide("doc-b", k, 2, run2) is None for k in (0, 1)] == [True, False]
    # Rerunning run 1 makes the same decisions: its own markers do not count against it.
    assert [ledger.decide("doc-a", k, 2, run1) is None for k in (0, 1, 2)] == [True, True, False]
    assert ledger.decide("doc-c", None, 2, run2) is not None  # a walk with no ordinal below the cap


def test_exposure_ledger_keeps_markers_inside_and_rejects_bad_caps_and_broken_markers(tmp_path):
    ledger = ExposureLedger(tmp_path)
    with pytest.raises(ForgeError, match="bad walk key"):
        ledger.record("doc", "", ("g", 0))
    ledger.record("doc", "../escape", ("g", 0))
    ledger.record("weird/doc id ü", "w1", ("g", 0))
    ledger.record("weird/doc id ü", "w1", ("g", 0))  # idempotent
    assert ledger.prior("weird/doc id ü") == 1 and ledger.prior("doc") == 1
    ledger.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert files and all(p.resolve().is_relative_to(tmp_path.resolve()) for p in files)
    assert ledger.compact() == len(files) and ExposureLedger(tmp_path).prior("weird/doc id ü") == 1
    with pytest.raises(ForgeError, match="max_exposure=-1"):
        ledger.decide("doc", 0, -1)
    other = ExposureLedger(tmp_path)
    other._store.put(other._key("broken"), "{not json")
    with pytest.raises(ForgeError, match="unreadable exposure marker"):
        other.prior("broken")
