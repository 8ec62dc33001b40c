"""Offline text splitting for instruction checks: words, sentences, paragraphs, markdown pieces.

No NLTK and no downloaded data: a few regular expressions with the cases that matter for
verification (abbreviations, decimals, CJK terminators, markdown lines) handled explicitly.
"""

from __future__ import annotations

import re
from functools import lru_cache

# \w is unicode-aware, so "naïve", "Straße" and "東京" are words; a run of CJK characters is one word.
_WORD = re.compile(r"\w+")
# Hyphenated and apostrophe words count once ("state-of-the-art", "don't"), as a reader counts them.
_TOKEN = re.compile(r"\w+(?:[-'’]\w+)*")
# Abbreviations whose final period does not end a sentence (compared lowercased, without the period).
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e fig no vol al approx dept est inc ltd co corp jan feb "
    "mar apr jun jul aug sep sept oct nov dec mt ave u.s u.k a.m p.m ph.d".split()
)
_TERMINATOR = re.compile(r"[.!?。！？]+[\"'”’)\]]*")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_HAS_WORD = re.compile(r"\w")


def words(text: str) -> list[str]:
    """Runs of word characters: the unit of `length_constraints:number_words`."""
    return _WORD.findall(text)


def tokens(text: str) -> list[str]:
    """Words with inner hyphens and apostrophes kept together (for all-capital word counts)."""
    return _TOKEN.findall(text)


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Does the terminator text[start:end] close a sentence?"""
    mark = text[start:end]
    if mark[0] in "!?。！？" or len(mark.rstrip("\"'”’)]")) > 1:
        return True
    # A single period: not after an abbreviation, an initial ("J. Smith") or inside a number ("3.14").
    # The token before the period, found by walking back (a regex anchored at the end would rescan
    # the line for every period).
    i = start
    while i > 0 and (text[i - 1].isalnum() or text[i - 1] in "._"):
        i -= 1
    prev = text[i:start].lower()
    if prev in _ABBREVIATIONS or (len(prev) == 1 and prev.isalpha()):
        return False
    nxt = text[end:end + 1]
    if nxt and not nxt.isspace():
        return False  # "3.14", "example.com", "a.b"
    return True


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    out: list[str] = []
    # A line break ends a sentence too: headings, bullet items and table rows are units of their own.
    for line in text.splitlines():
        pos = 0
        for m in _TERMINATOR.finditer(line):
            if _ends_sentence(line, m.start(), m.end()):
                out.append(line[pos:m.end()].strip())
                pos = m.end()
        out.append(line[pos:].strip())
    return tuple(s for s in out if _HAS_WORD.search(s))


def sentences(text: str) -> list[str]:
    """Sentences with at least one word character; punctuation-only pieces are not sentences."""
    return list(_sentences(text))


def blank_line_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by one or more blank lines, stripped, empty ones dropped."""
    return [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]


def divider_paragraphs(text: str) -> list[str] | None:
    """Paragraphs separated by markdown `***` divider lines; None when a paragraph between two
    dividers is empty (the response then does not have a well-formed paragraph structure)."""
    pieces = re.split(r"(?m)^[ \t]*\*\*\*[ \t]*$", text)
    kept = []
    for i, piece in enumerate(pieces):
        if piece.strip():
            kept.append(piece.strip())
        elif 0 < i < len(pieces) - 1:
            return None
    return kept


def first_word(paragraph: str) -> str:
    """The first word of a paragraph, lowercased, skipping markdown marks and opening quotes."""
    m = _WORD.search(paragraph)
    if m is None:
        return ""
    # Only markdown and quote marks may precede the word; "1990s" style numbers count as words.
    lead = paragraph[:m.start()]
    if lead.strip(" \t#>*_-\"'“‘`([") != "":
        return ""
    return m.group(0).lower()
