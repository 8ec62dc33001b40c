"""`detectable_format:*` instructions: bullets, fixed answers, highlights, sections, JSON, a title."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from dataforge.ifthink.base import Arg, Instruction, SampleContext, register

# A markdown list item: "* x", "- x" or "+ x" (a "***" or "---" divider line is not an item).
_BULLET = re.compile(r"(?m)^[ \t]*[*+-][ \t]+\S")
_RULE = re.compile(r"^[ \t]*([*+-])([ \t]*\1){2,}[ \t]*$")
# *emphasis* or **bold** on one line, with no space just inside the marks (so "2 * 3 * 4" is no highlight).
_HIGHLIGHT = re.compile(r"(?<!\*)(\*{1,2})(?=[^\s*])([^\n*]+?)(?<=[^\s*])\1(?!\*)")
_TITLE = re.compile(r"<<([^\n<>]*\S[^\n<>]*)>>")
_FENCE = re.compile(r"^```[ \t]*(?:json)?[ \t]*\n?(.*?)\n?```$", re.DOTALL | re.IGNORECASE)
ANSWER_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")
SECTION_SPLITTERS = ("Section", "SECTION")


def count_bullets(response: str) -> int:
    return sum(1 for line in response.splitlines() if _BULLET.match(line) and not _RULE.match(line))


@register
class NumberBulletLists(Instruction):
    id = "detectable_format:number_bullet_lists"
    args = (Arg("num_bullets", int, minimum=1),)
    phrasings = ("Your answer must contain exactly {num_bullets} bullet points in markdown, like:\n"
                 "* first point\n* second point",
                 "Give exactly {num_bullets} markdown bullet points (lines starting with '* ').")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return count_bullets(response) == kw["num_bullets"]

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"num_bullets": ctx.randint(2, 5, share=0.05)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_bullets"]

    def min_lines(self, kw: dict[str, Any]) -> int:
        return kw["num_bullets"]


@register
class ConstrainedResponse(Instruction):
    id = "detectable_format:constrained_response"
    phrasings = ('Answer with one of these options, word for word: "My answer is yes.", '
                 '"My answer is no.", "My answer is maybe."',)

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return any(option in response for option in ANSWER_OPTIONS)

    def min_words(self, kw: dict[str, Any]) -> int:
        return 4

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return ["My answer is"]


@register
class NumberHighlightedSections(Instruction):
    id = "detectable_format:number_highlighted_sections"
    args = (Arg("num_highlights", int, minimum=1),)
    phrasings = ("Highlight at least {num_highlights} parts of your answer with markdown, "
                 "e.g. *highlighted part*.",
                 "Mark at least {num_highlights} sections as highlighted using asterisks, like *this*.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        # Bullet markers are not emphasis: drop them before looking for *spans*.
        body = _BULLET.sub(lambda m: m.group(0)[-1], response)
        return len(_HIGHLIGHT.findall(body)) >= kw["num_highlights"]

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"num_highlights": ctx.rng.randint(1, 4)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_highlights"]


@lru_cache(maxsize=64)
def _section_pattern(splitter: str) -> re.Pattern[str]:
    # "Section 2" opening a line, possibly as a markdown heading or in bold.
    return re.compile(r"(?m)^[ \t#*_>\"“]*" + re.escape(splitter.strip()) + r"[ \t]+\d+")


@register
class MultipleSections(Instruction):
    id = "detectable_format:multiple_sections"
    args = (Arg("section_spliter", str), Arg("num_sections", int, minimum=1))
    phrasings = ("Your answer must have exactly {num_sections} sections. Start each one with a line "
                 "'{section_spliter} X', like:\n{section_spliter} 1\n[content of section 1]\n"
                 "{section_spliter} 2\n[content of section 2]",
                 "Split your answer into {num_sections} sections, each opening with "
                 "'{section_spliter} N' where N is its number.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return len(_section_pattern(kw["section_spliter"]).findall(response)) == kw["num_sections"]

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"section_spliter": ctx.rng.choice(SECTION_SPLITTERS), "num_sections": ctx.randint(2, 4, share=0.04)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return 3 * kw["num_sections"]

    def min_lines(self, kw: dict[str, Any]) -> int:
        return 2 * kw["num_sections"]

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return [kw["section_spliter"]] * kw["num_sections"]


def json_body(response: str) -> str:
    """The answer without surrounding whitespace and one optional ``` or ```json fence."""
    body = response.strip()
    m = _FENCE.match(body)
    return m.group(1).strip() if m else body


@register
class JsonFormat(Instruction):
    id = "detectable_format:json_format"
    phrasings = ("Format your entire output as JSON; you may wrap it in markdown ``` ticks.",
                 "Reply with valid JSON only (a markdown ```json block is fine).")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        try:
            value = json.loads(json_body(response))
        except ValueError:
            return False
        # A bare number or string is valid JSON text but not output "wrapped in JSON".
        return isinstance(value, (dict, list))


@register
class Title(Instruction):
    id = "detectable_format:title"
    phrasings = ("Give your answer a title wrapped in double angular brackets, such as <<my title>>.",
                 "Start with a title inside double angle brackets, e.g. <<a day at sea>>.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return _TITLE.search(response) is not None

    def min_words(self, kw: dict[str, Any]) -> int:
        return 1

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return ["<<", ">>"]
