"""`keywords:*` instructions: required, counted, forbidden words and letter counts."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.ifthink.base import RELATIONS, Arg, Instruction, SampleContext, compare, register

# Everyday words a request about almost any topic can work in; lowercase ASCII so they combine with
# the case instructions. Chosen for this library, not taken from any benchmark's list.
WORD_BANK = tuple(
    """anchor balance bridge candle canvas castle census channel circle climate compass copper
    cotton courage crystal current desert diamond engine estimate fabric feather festival forest
    fortune garden glacier harbor harvest horizon island journey kettle lantern ledger library
    lighthouse marble meadow method mirror mountain museum network ocean orbit orchard palace
    pattern pebble pepper planet pocket puzzle quarter rainbow record ribbon river rocket saddle
    signal silver spiral spring station summit surface theory thunder timber tower trumpet tunnel
    valley velvet village voyage wagon whistle window winter wisdom""".split()
)
# Letters ordinary English text uses rarely / often, so "less than" and "at least" are both reachable.
_RARE_LETTERS = "jqxz"
_COMMON_LETTERS = "aeinorst"


@lru_cache(maxsize=4096)
def word_pattern(word: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive match: "cat" is found in "Cat!" but not in "category"."""
    return re.compile(r"(?<!\w)" + re.escape(word.strip()) + r"(?!\w)", re.IGNORECASE)


def count_word(word: str, text: str) -> int:
    return len(word_pattern(word).findall(text))


def pick_words(ctx: SampleContext, n: int) -> list[str]:
    free = [w for w in WORD_BANK if w not in ctx.taken_words]
    if len(free) < n:  # only when one context samples very many keyword constraints
        free = list(WORD_BANK)
    chosen = sorted(ctx.rng.sample(free, n))
    ctx.taken_words.update(chosen)
    return chosen


@register
class Existence(Instruction):
    id = "keywords:existence"
    args = (Arg("keywords", list),)
    phrasings = ("Make sure your answer uses the words {keywords}.",
                 "Work the keywords {keywords} into your response.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return all(word_pattern(w).search(response) for w in kw["keywords"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"keywords": pick_words(ctx, ctx.rng.randint(1, 2))}

    def min_words(self, kw: dict[str, Any]) -> int:
        return len(kw["keywords"])

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return list(kw["keywords"])


@register
class Frequency(Instruction):
    id = "keywords:frequency"
    args = (Arg("keyword", str), Arg("frequency", int, minimum=1), Arg("relation", str, RELATIONS))
    phrasings = ('The word "{keyword}" should appear {relation} {frequency} times in your answer.',
                 'Use the word "{keyword}" {relation} {frequency} times.')

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return compare(count_word(kw["keyword"], response), kw["relation"], kw["frequency"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        relation = ctx.rng.choice(RELATIONS)
        low = 2 if relation == "less than" else 1  # "less than 1" is a forbidden word, not a frequency
        return {"keyword": pick_words(ctx, 1)[0], "frequency": ctx.rng.randint(low, 3), "relation": relation}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["frequency"] if kw["relation"] == "at least" else 0

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return [kw["keyword"]] * kw["frequency"] if kw["relation"] == "at least" else []


@register
class ForbiddenWords(Instruction):
    id = "keywords:forbidden_words"
    args = (Arg("forbidden_words", list),)
    phrasings = ("Do not use the words {forbidden_words} anywhere in your answer.",
                 "Avoid the words {forbidden_words} completely.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return not any(word_pattern(w).search(response) for w in kw["forbidden_words"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"forbidden_words": pick_words(ctx, ctx.rng.randint(1, 2))}


@register
class LetterFrequency(Instruction):
    id = "keywords:letter_frequency"
    args = (Arg("letter", str), Arg("let_frequency", int, minimum=1), Arg("let_relation", str, RELATIONS))
    phrasings = ('The letter "{letter}" should appear {let_relation} {let_frequency} times in your answer.',
                 'Write your answer so that the letter "{letter}" occurs {let_relation} {let_frequency} times.')

    def validate(self, kwargs: dict[str, Any] | None) -> dict[str, Any]:
        kw = super().validate(kwargs)
        if len(kw["letter"]) != 1:
            raise ForgeError(f"{self.id}: argument 'letter' must be one character, got {kw['letter']!r}")
        return kw

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        # Case-insensitive, as the instruction names a letter, not a glyph.
        return compare(response.lower().count(kw["letter"].lower()), kw["let_relation"], kw["let_frequency"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        relation = ctx.rng.choice(RELATIONS)
        if relation == "less than":
            return {"letter": ctx.rng.choice(_RARE_LETTERS), "let_frequency": ctx.rng.randint(2, 5),
                    "let_relation": relation}
        return {"letter": ctx.rng.choice(_COMMON_LETTERS), "let_frequency": ctx.randint(3, 10, share=0.2),
                "let_relation": relation}

