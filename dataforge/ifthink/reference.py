"""The reference IFEval verdicts (google-research `instruction_following_eval`, as lm-evaluation-harness
runs it for "strict" accuracy), one function per instruction whose rule differs from DataForge's own.

`check(id, kwargs, response)` gives these verdicts; `check(..., strict=True)` requires DataForge's
stricter rule as well (see each function's comment for what the stricter rule adds). Instructions not
listed here have one rule for both. Two parts of the reference need downloaded data this library never
fetches, and are approximated offline: NLTK's punkt sentence splitter (`number_sentences`; the offline
splitter in `text.py`) and NLTK's `word_tokenize` (`capital_word_frequency`; `treebank_tokens` below);
language identification uses the packaged fastText lid.176 instead of `langdetect`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from dataforge.ifthink import langid
from dataforge.ifthink.base import compare

Check = Callable[[dict[str, Any], str], bool]
REFERENCE: dict[str, Check] = {}


def reference(instruction_id: str) -> Callable[[Check], Check]:
    def add(fn: Check) -> Check:
        REFERENCE[instruction_id] = fn
        return fn
    return add


@lru_cache(maxsize=1024)
def _rx(pattern: str, flags: int = 0) -> re.Pattern[str]:
    # The reference reads keywords, section splitters and postscript markers as regular expressions
    # (they come from the instruction's arguments, never from the model); one that does not compile
    # is matched literally instead of crashing the check.
    try:
        return re.compile(pattern, flags)
    except re.error:
        return re.compile(re.escape(pattern), flags)


# keywords: substring matches (`cat` is found in `category`); strict: whole words only.
@reference("keywords:existence")
def _existence(kw: dict[str, Any], response: str) -> bool:
    return all(_rx(w, re.IGNORECASE).search(response) for w in kw["keywords"])


@reference("keywords:frequency")
def _frequency(kw: dict[str, Any], response: str) -> bool:
    count = len(_rx(kw["keyword"].strip(), re.IGNORECASE).findall(response))
    return compare(count, kw["relation"], kw["frequency"])


# `\b` word boundaries (strict: no word character on either side, the same for plain words).
@reference("keywords:forbidden_words")
def _forbidden(kw: dict[str, Any], response: str) -> bool:
    return not any(_rx(r"\b" + w + r"\b", re.IGNORECASE).search(response) for w in kw["forbidden_words"])


# Any `***` run splits, inline too, with one optional whitespace character either side; empty pieces
# count only at the ends. Strict: dividers are `***` lines.
@reference("length_constraints:number_paragraphs")
def _paragraphs(kw: dict[str, Any], response: str) -> bool:
    pieces = re.split(r"\s?\*\*\*\s?", response)
    count = len(pieces)
    for i, p in enumerate(pieces):
        if not p.strip():
            if 0 < i < len(pieces) - 1:
                return False
            count -= 1
    return count == kw["num_paragraphs"]


# Paragraphs split at exactly "\n\n"; the first word is the first whitespace token with leading quotes
# removed, cut at the first . , ? ! ' or ". Strict: any blank line splits, markdown marks are skipped.
@reference("length_constraints:nth_paragraph_first_word")
def _nth_first_word(kw: dict[str, Any], response: str) -> bool:
    pieces = response.split("\n\n")
    count = sum(1 for p in pieces if p.strip())
    n = kw["nth_paragraph"]
    if n > count or not pieces[n - 1].strip():
        return False
    word = pieces[n - 1].strip().split()[0].lstrip("'").lstrip('"')
    first = ""
    for ch in word:
        if ch in ".,?!'\"":
            break
        first += ch.lower()
    return count == kw["num_paragraphs"] and first == kw["first_word"].lower()


# Anything in square brackets on one line, empty ones and markdown link texts too.
@reference("detectable_content:number_placeholders")
def _placeholders(kw: dict[str, Any], response: str) -> bool:
    return len(re.findall(r"\[.*?\]", response)) >= kw["num_placeholders"]


# Case-insensitive, anywhere in a line ("see p.s. below" counts); strict: the marker opens a line.
@reference("detectable_content:postscript")
def _postscript(kw: dict[str, Any], response: str) -> bool:
    marker = kw["postscript_marker"].strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        pattern = r"\s*" + marker.lower() + r".*$"
    return _rx(pattern, re.MULTILINE).search(response.lower()) is not None


# Lines starting with `*` then a non-`*` character, or with `-` (so `---` rules and "-5 degrees"
# lines count, `+` items do not); strict: `*`, `-`, `+` items only, rules excluded.
@reference("detectable_format:number_bullet_lists")
def _bullets(kw: dict[str, Any], response: str) -> bool:
    stars = re.findall(r"^\s*\*[^\*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == kw["num_bullets"]


# `*x*` spans with anything but a newline or `*` inside (so "2 * 3 * 4" highlights "3"), plus
# `**x**` spans counted again; strict: no space just inside the marks.
@reference("detectable_format:number_highlighted_sections")
def _highlights(kw: dict[str, Any], response: str) -> bool:
    single = [h for h in re.findall(r"\*[^\n\*]*\*", response) if h.strip("*").strip()]
    double = [h for h in re.findall(r"\*\*[^\n\*]*\*\*", response) if h[2:-2].strip()]
    return len(single) + len(double) >= kw["num_highlights"]


# At least N splitter+number matches anywhere; strict: exactly N, each opening a line.
@reference("detectable_format:multiple_sections")
def _sections(kw: dict[str, Any], response: str) -> bool:
    splitter = kw["section_spliter"].strip()
    return len(_rx(r"\s?" + splitter + r"\s?\d+\s?").split(response)) - 1 >= kw["num_sections"]


# Any JSON value after removing one leading ```json/```Json/```JSON/``` and one trailing ```;
# strict: an object or array.
@reference("detectable_format:json_format")
def _json(kw: dict[str, Any], response: str) -> bool:
    body = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        body = body.removeprefix(fence)
    body = body.removesuffix("```").strip()
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


# `<<...>>` with a non-blank inside, `<` and `>` allowed inside; strict: not inside.
@reference("detectable_format:title")
def _title(kw: dict[str, Any], response: str) -> bool:
    return any(t.lstrip("<").rstrip(">").strip() for t in re.findall(r"<<[^\n]+>>", response))


# Pieces compared after stripping only; strict: also compared case- and whitespace-insensitively.
@reference("combination:two_responses")
def _two(kw: dict[str, Any], response: str) -> bool:
    pieces = response.split("******")
    kept = []
    for i, p in enumerate(pieces):
        if not p.strip():
            if 0 < i < len(pieces) - 1:
                return False
        else:
            kept.append(p)
    return len(kept) == 2 and kept[0].strip() != kept[1].strip()


# Case-insensitive prefix, whitespace exact; strict: whitespace runs squashed (also required here).
@reference("combination:repeat_prompt")
def _repeat(kw: dict[str, Any], response: str) -> bool:
    return response.strip().lower().startswith(kw["prompt_to_repeat"].strip().lower())


# Ends with the phrase after stripping whitespace and straight double quotes, whitespace exact.
@reference("startend:end_checker")
def _end(kw: dict[str, Any], response: str) -> bool:
    return response.strip().strip('"').lower().endswith(kw["end_phrase"].strip().lower())


# Straight double quotes only; `""` passes. Strict: curly quotes too, something inside required.
@reference("startend:quotation")
def _quotation(kw: dict[str, Any], response: str) -> bool:
    body = response.strip()
    return len(body) > 1 and body[0] == '"' and body[-1] == '"'


# Only the ASCII comma; strict: fullwidth, ideographic and Arabic commas too.
@reference("punctuation:no_comma")
def _no_comma(kw: dict[str, Any], response: str) -> bool:
    return "," not in response


# Text with no detectable language passes (the reference counts a detector error as followed);
# strict: it fails.
@reference("language:response_language")
def _language(kw: dict[str, Any], response: str) -> bool:
    got = langid.detect(response)
    return got is None or got == kw["language"]


_TREEBANK = re.compile(r"(?i)\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+(?:[-.]\w+)*|[^\w\s]")


def treebank_tokens(text: str) -> list[str]:
    """Tokens close to NLTK's `word_tokenize`: contractions split ("DON'T" -> "DO", "N'T"), hyphenated
    words kept, punctuation its own token."""
    return _TREEBANK.findall(text)


# Contractions count as two words ("DON'T" has two capital words); strict: one.
@reference("change_case:capital_word_frequency")
def _capitals(kw: dict[str, Any], response: str) -> bool:
    count = sum(1 for t in treebank_tokens(response) if t.isupper())
    return compare(count, kw["capital_relation"], kw["capital_frequency"])
