"""Chunking at paragraph/sentence boundaries within a token budget, losing no word."""

from __future__ import annotations

import pytest

from dataforge.core.errors import ForgeError
from dataforge.rephrase.chunking import chunk_text, token_counter

from .docs import long_document


@pytest.fixture(scope="module")
def count():
    return token_counter()


def _words(text: str) -> list[str]:
    return text.split()


def test_long_document_exceeds_the_model_context(count):
    assert count([long_document()])[0] > 8192


def test_chunks_fit_budget_and_keep_every_word_in_order(count):
    doc = long_document()
    chunks = chunk_text(doc, 1024, count)
    assert len(chunks) >= 9
    assert all(n <= 1024 for n in count(chunks))
    assert _words(" ".join(chunks)) == _words(doc)


def test_chunks_end_at_paragraph_boundaries_when_paragraphs_fit(count):
    doc = long_document(30)
    paragraphs = doc.split("\n\n")
    for chunk in chunk_text(doc, 400, count):
        assert all(p in paragraphs for p in chunk.split("\n\n"))


def test_oversized_paragraph_splits_between_sentences(count):
    paragraph = " ".join(long_document(8).split("\n\n"))  # one paragraph of 32 sentences
    chunks = chunk_text(paragraph, 120, count)
    assert len(chunks) > 1
    assert all(c.endswith(".") for c in chunks)
    assert _words(" ".join(chunks)) == _words(paragraph)


def test_sentence_longer_than_budget_splits_between_words(count):
    sentence = " ".join(f"item{i}" for i in range(400)) + "."
    chunks = chunk_text(sentence, 32, count)
    assert len(chunks) > 5 and all(n <= 32 for n in count(chunks))
    assert _words(" ".join(chunks)) == _words(sentence)


def test_unicode_and_cjk_text_chunks_without_loss(count):
    doc = "\n\n".join(["東京は日本の首都です。人口は多いです。" * 20, "Ça coûte 3,50 € — naïve café. " * 30])
    chunks = chunk_text(doc, 64, count)
    assert all(n <= 64 for n in count(chunks))
    assert "".join("".join(chunks).split()) == "".join(doc.split())
    spaceless = "東京" * 300
    assert "".join(chunk_text(spaceless, 64, count)) == spaceless


def test_tiny_budget_is_a_forge_error(count):
    with pytest.raises(ForgeError, match="at least 16"):
        chunk_text("text", 8, count)
