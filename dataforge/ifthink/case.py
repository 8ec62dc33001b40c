"""`change_case:*` and `punctuation:*` instructions: capitals, lowercase, capital-word counts, commas."""

from __future__ import annotations

import re
from typing import Any

from dataforge.ifthink import langid, text
from dataforge.ifthink.base import RELATIONS, Arg, Instruction, SampleContext, compare, register

# Every comma of the scripts the language list covers: ASCII, fullwidth, ideographic, Arabic, small.
_COMMA = re.compile(r"[,，、،﹐､]")


@register
class CapitalWordFrequency(Instruction):
    id = "change_case:capital_word_frequency"
    args = (Arg("capital_frequency", int, minimum=1), Arg("capital_relation", str, RELATIONS))
    phrasings = ("Words written in ALL CAPITAL letters should appear {capital_relation} "
                 "{capital_frequency} times in your answer.",
                 "Use {capital_relation} {capital_frequency} words in full capitals (like THIS).")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        capitals = sum(1 for t in text.tokens(response) if t.isupper())
        return compare(capitals, kw["capital_relation"], kw["capital_frequency"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        relation = ctx.rng.choice(RELATIONS)
        hi = ctx.randint(2, 10, share=0.2) if relation == "at least" else ctx.rng.randint(2, 10)
        return {"capital_frequency": hi, "capital_relation": relation}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["capital_frequency"] if kw["capital_relation"] == "at least" else 0


@register
class EnglishCapital(Instruction):
    id = "change_case:english_capital"
    phrasings = ("Your entire answer must be in English and in capital letters only.",
                 "WRITE THE WHOLE ANSWER IN ENGLISH, IN CAPITAL LETTERS.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return response.isupper() and langid.detect(response) == "en"


@register
class EnglishLowercase(Instruction):
    id = "change_case:english_lowercase"
    phrasings = ("Your entire answer must be in English and in lowercase letters; no capital letters at all.",
                 "write the whole answer in english using only lowercase letters.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return response.islower() and langid.detect(response) == "en"


@register
class NoComma(Instruction):
    id = "punctuation:no_comma"
    phrasings = ("Do not use any commas in your answer.",
                 "Write your whole answer without a single comma.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return _COMMA.search(response) is None
