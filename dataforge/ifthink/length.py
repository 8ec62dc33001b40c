"""`length_constraints:*` instructions: sentence, word and paragraph counts, a paragraph's first word."""

from __future__ import annotations

from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.ifthink import text
from dataforge.ifthink.base import RELATIONS, Arg, Instruction, SampleContext, compare, register
from dataforge.ifthink.keywords import pick_words


@register
class NumberSentences(Instruction):
    id = "length_constraints:number_sentences"
    args = (Arg("num_sentences", int, minimum=1), Arg("relation", str, RELATIONS))
    phrasings = ("Your answer should have {relation} {num_sentences} sentences.",
                 "Write {relation} {num_sentences} sentences.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return compare(len(text.sentences(response)), kw["relation"], kw["num_sentences"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        relation = ctx.rng.choice(RELATIONS)
        if relation == "less than":
            return {"num_sentences": ctx.rng.randint(3, 10), "relation": relation}
        return {"num_sentences": ctx.randint(1, 8, share=0.08), "relation": relation}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_sentences"] if kw["relation"] == "at least" else 0


@register
class NumberWords(Instruction):
    id = "length_constraints:number_words"
    args = (Arg("num_words", int, minimum=1), Arg("relation", str, RELATIONS))
    phrasings = ("Answer with {relation} {num_words} words.",
                 "Your answer must be {relation} {num_words} words long.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return compare(len(text.words(response)), kw["relation"], kw["num_words"])

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        relation = ctx.rng.choice(RELATIONS)
        if relation == "less than":
            return {"num_words": ctx.randint(30, 300, share=1.0), "relation": relation}
        return {"num_words": ctx.randint(10, 300, share=0.5), "relation": relation}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_words"] if kw["relation"] == "at least" else 0

    def max_words(self, kw: dict[str, Any]) -> int | None:
        return kw["num_words"] - 1 if kw["relation"] == "less than" else None


@register
class NumberParagraphs(Instruction):
    id = "length_constraints:number_paragraphs"
    args = (Arg("num_paragraphs", int, minimum=1),)
    phrasings = ("Write exactly {num_paragraphs} paragraphs, separated from each other by a line "
                 "holding only the markdown divider ***.",
                 "Your answer must have {num_paragraphs} paragraphs; put a line with just *** "
                 "between consecutive paragraphs.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        paragraphs = text.divider_paragraphs(response)
        return paragraphs is not None and len(paragraphs) == kw["num_paragraphs"]

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"num_paragraphs": ctx.randint(2, 5, share=0.05)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_paragraphs"]

    def min_lines(self, kw: dict[str, Any]) -> int:
        return kw["num_paragraphs"]


@register
class NthParagraphFirstWord(Instruction):
    id = "length_constraints:nth_paragraph_first_word"
    args = (Arg("num_paragraphs", int, minimum=1), Arg("nth_paragraph", int, minimum=1), Arg("first_word", str))
    phrasings = ("Write exactly {num_paragraphs} paragraphs separated by blank lines, and start "
                 'paragraph {nth_paragraph} with the word "{first_word}".',
                 "Use {num_paragraphs} paragraphs (a blank line between paragraphs, and nowhere else); "
                 'paragraph number {nth_paragraph} must begin with the word "{first_word}".')

    def validate(self, kwargs: dict[str, Any] | None) -> dict[str, Any]:
        kw = super().validate(kwargs)
        if kw["nth_paragraph"] > kw["num_paragraphs"]:
            raise ForgeError(f"{self.id}: nth_paragraph ({kw['nth_paragraph']}) is past num_paragraphs "
                             f"({kw['num_paragraphs']}); pick a paragraph that exists")
        return kw

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        paragraphs = text.blank_line_paragraphs(response)
        if len(paragraphs) != kw["num_paragraphs"]:
            return False
        return text.first_word(paragraphs[kw["nth_paragraph"] - 1]) == kw["first_word"].strip().lower()

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        n = ctx.randint(2, 4, share=0.05)
        return {"num_paragraphs": n, "nth_paragraph": ctx.rng.randint(1, n), "first_word": pick_words(ctx, 1)[0]}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_paragraphs"]

    def min_lines(self, kw: dict[str, Any]) -> int:
        return kw["num_paragraphs"]

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return [kw["first_word"]]
