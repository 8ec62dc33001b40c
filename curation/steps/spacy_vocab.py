"""Keep spaCy's vocabulary between documents in the executors that run datatrove filters.

datatrove tokenizes every document inside `nlp.memory_zone()`, which frees each lexeme the document
created as soon as it ends, so the next document creates "the", "of" and the rest again; that churn
is most of the tokenizer's time. Tokens do not depend on whether a lexeme was already in the
vocabulary, so the filters decide exactly as before. Here the zone becomes a no-op, and the
tokenizer is rebuilt when its vocabulary passes `MAX_LEXEMES`, so memory stays bounded as the zone
kept it.
"""

from __future__ import annotations

import contextlib
from typing import Any

MAX_LEXEMES = 500_000


@contextlib.contextmanager
def _no_zone(mem: Any = None):
    yield mem


def keep_vocab(language: Any) -> None:
    """Make datatrove's (process-wide, cached) spaCy tokenizer for `language` keep its vocabulary."""
    try:
        from datatrove.utils.word_tokenizers import SpaCyTokenizer, load_word_tokenizer

        tok = load_word_tokenizer(language)
    except Exception:  # noqa: BLE001 - an unknown language fails later, inside the filter, as it would locally
        return
    if not isinstance(tok, SpaCyTokenizer):
        return
    nlp = tok._tokenizer
    if nlp is not None and len(nlp.vocab) > MAX_LEXEMES:
        tok._tokenizer = nlp = None  # a fresh pipeline, built lazily below
    if nlp is None:
        nlp = tok.tokenizer
    if "memory_zone" not in vars(nlp):
        nlp.memory_zone = _no_zone
