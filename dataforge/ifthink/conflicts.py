"""Which instructions cannot be asked for together.

Two layers:
- id level: IFEval's conflict matrix (made symmetric, every instruction conflicting with itself),
  plus a few pairs IFEval's matrix misses that this library's checks make impossible
  (`EXTRA_CONFLICTS`, each with its reason);
- argument level: `feasible` rejects a set whose arguments contradict each other, e.g. "fewer than
  20 words" with "at least 8 bullet points", or a forbidden word that another instruction requires.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import TYPE_CHECKING

from dataforge.ifthink import keywords, text
from dataforge.ifthink.base import REGISTRY

if TYPE_CHECKING:
    from dataforge.ifthink.constraints import Constraint

_K, _L, _N = "keywords:", "length_constraints:", "language:response_language"
_F, _C, _S = "detectable_format:", "detectable_content:", "startend:"
_CASE, _COMB = "change_case:", "combination:"

# IFEval's matrix as published: instruction -> the instructions it conflicts with ...
_IFEVAL_CONFLICTS: dict[str, set[str]] = {
    _N: {_F + "multiple_sections", _K + "existence", _K + "frequency", _K + "forbidden_words",
         _S + "end_checker", _CASE + "english_capital", _CASE + "english_lowercase"},
    _L + "number_paragraphs": {_L + "nth_paragraph_first_word", _L + "number_sentences"},
    _L + "nth_paragraph_first_word": {_L + "number_paragraphs"},
    _F + "multiple_sections": {_N, _F + "number_highlighted_sections"},
    _CASE + "capital_word_frequency": {_CASE + "english_lowercase", _CASE + "english_capital"},
    _CASE + "english_lowercase": {_CASE + "english_capital"},
    _S + "quotation": {_F + "title"},
}
# ... and those that conflict with every instruction except a few.
_IFEVAL_CONFLICTS_ALL_BUT: dict[str, set[str]] = {
    _F + "constrained_response": set(),
    _F + "json_format": {_K + "forbidden_words", _K + "existence"},
    _COMB + "two_responses": {_K + "forbidden_words", _K + "existence", _N, _F + "title", "punctuation:no_comma"},
    _COMB + "repeat_prompt": {_K + "existence", _F + "title", "punctuation:no_comma"},
}
# Pairs this library adds, with why.
EXTRA_CONFLICTS: dict[tuple[str, str], str] = {
    (_CASE + "english_lowercase", _F + "multiple_sections"): "section markers are 'Section'/'SECTION'",
    (_N, _L + "nth_paragraph_first_word"): "the required first word is English",
    (_N, _K + "letter_frequency"): "the letter is Latin; many languages do not use that script",
    (_N, _CASE + "capital_word_frequency"): "many scripts have no capital letters",
}


def _build() -> dict[str, frozenset[str]]:
    ids = set(REGISTRY)
    table: dict[str, set[str]] = {i: {i} for i in ids}
    for a, others in _IFEVAL_CONFLICTS.items():
        for b in others:
            table[a].add(b)
            table[b].add(a)
    for a, allowed in _IFEVAL_CONFLICTS_ALL_BUT.items():
        for b in ids - allowed:
            table[a].add(b)
            table[b].add(a)
    for a, b in EXTRA_CONFLICTS:
        table[a].add(b)
        table[b].add(a)
    return {k: frozenset(v) for k, v in table.items()}


CONFLICTS: dict[str, frozenset[str]] = _build()


def conflicts(a: str, b: str) -> bool:
    """True when instructions `a` and `b` cannot be asked for in the same turn (symmetric)."""
    return b in CONFLICTS[a]


def compatible_ids(ids: Iterable[str]) -> bool:
    return not any(conflicts(a, b) for a, b in combinations(list(ids), 2))


def infeasibility(constraints: Sequence[Constraint], max_words: int | None = None) -> str | None:
    """Why these constraints cannot all be met by one answer, or None when they can (as far as the
    argument-level rules see). `max_words` is the longest answer the generator can write."""
    if not compatible_ids(c.id for c in constraints):
        return "conflicting instruction ids"
    inst = [(REGISTRY[c.id], c.kwargs) for c in constraints]
    floor = sum(i.min_words(kw) for i, kw in inst)
    ceilings = [m for i, kw in inst if (m := i.max_words(kw)) is not None]
    if max_words is not None:
        ceilings.append(max_words)
    if ceilings and floor > min(ceilings):
        return f"needs at least {floor} words but at most {min(ceilings)} are allowed"
    required = [t for i, kw in inst for t in i.required_text(kw)]
    joined = "\n".join(required)
    for c in constraints:
        kw = c.kwargs
        if c.id == "keywords:forbidden_words":
            hit = [w for w in kw["forbidden_words"] if keywords.word_pattern(w).search(joined)]
            if hit:
                return f"forbids {hit} which another instruction requires"
        elif c.id == "keywords:frequency" and kw["relation"] == "less than":
            if keywords.count_word(kw["keyword"], joined) >= kw["frequency"]:
                return f"limits {kw['keyword']!r} which another instruction requires"
        elif c.id == "keywords:letter_frequency" and kw["let_relation"] == "less than":
            if joined.lower().count(kw["letter"].lower()) >= kw["let_frequency"]:
                return f"limits the letter {kw['letter']!r} which required text already uses"
        elif c.id == "change_case:capital_word_frequency" and kw["capital_relation"] == "less than":
            if sum(1 for t in text.tokens(joined) if t.isupper()) >= kw["capital_frequency"]:
                return "limits capital words which required text already uses"
        elif c.id == "punctuation:no_comma" and ("," in joined):
            return "forbids commas but required text has one"
        elif c.id == "length_constraints:number_sentences" and kw["relation"] == "less than":
            lines = max((REGISTRY[o.id].min_lines(o.kwargs) for o in constraints), default=0)
            if lines >= kw["num_sentences"]:
                return f"allows fewer than {kw['num_sentences']} sentences but another instruction needs {lines} lines"
        elif c.id == "detectable_format:multiple_sections" and kw["section_spliter"] != kw["section_spliter"].upper():
            if any(o.id == "change_case:english_capital" for o in constraints):
                return "section marker is not in capitals but the answer must be"
    return None


def feasible(constraints: Sequence[Constraint], max_words: int | None = None) -> bool:
    return infeasibility(constraints, max_words) is None
