"""`detectable_content:*` and `language:*` instructions: placeholders, a postscript, the answer's language."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from dataforge.ifthink import langid
from dataforge.ifthink.base import Arg, Instruction, SampleContext, register

# [name] but not a markdown link text "[name](url)" and not an empty "[]".
_PLACEHOLDER = re.compile(r"\[[^\[\]\n]*\w[^\[\]\n]*\](?!\()")
POSTSCRIPT_MARKERS = ("P.S.", "P.P.S")


@register
class NumberPlaceholders(Instruction):
    id = "detectable_content:number_placeholders"
    args = (Arg("num_placeholders", int, minimum=1),)
    phrasings = ("Include at least {num_placeholders} placeholders in square brackets, like [name].",
                 "Leave at least {num_placeholders} fill-in placeholders written in square brackets, "
                 "such as [date].")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return len(_PLACEHOLDER.findall(response)) >= kw["num_placeholders"]

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"num_placeholders": ctx.rng.randint(1, 4)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return kw["num_placeholders"]

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return ["[]"] * kw["num_placeholders"]


@lru_cache(maxsize=256)
def _postscript_pattern(marker: str) -> re.Pattern[str]:
    # Tolerate the spacing people type ("P. S.", "p.p.s") but insist the marker opens a line.
    letters = [re.escape(c) for c in marker.strip().lower() if not c.isspace()]
    body = r"\s?".join(letters)
    return re.compile(r"(?im)^[ \t>*_\"“]*" + body)


@register
class Postscript(Instruction):
    id = "detectable_content:postscript"
    args = (Arg("postscript_marker", str),)
    phrasings = ("End your answer with a postscript that starts with {postscript_marker}",
                 "Finish with a postscript, on its own line, beginning with {postscript_marker}")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return _postscript_pattern(kw["postscript_marker"]).search(response) is not None

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"postscript_marker": ctx.rng.choice(POSTSCRIPT_MARKERS)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return 1

    def min_lines(self, kw: dict[str, Any]) -> int:
        return 2  # the body and the postscript line

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return [kw["postscript_marker"].lower()]  # the marker is matched in any case


@register
class ResponseLanguage(Instruction):
    id = "language:response_language"
    args = (Arg("language", str),)
    phrasings = ("Write your entire answer in {language_name}; no other language is allowed.",
                 "Respond only in {language_name}.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        return langid.detect(response) == kw["language"]

    def describe(self, kw: dict[str, Any], variant: int = 0) -> str:
        name = langid.LANGUAGES.get(kw["language"], kw["language"])
        return self.phrasings[variant % len(self.phrasings)].format(language_name=name)

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"language": ctx.rng.choice(sorted(set(langid.LANGUAGES) - {"en"}))}

    def min_words(self, kw: dict[str, Any]) -> int:
        return 1
