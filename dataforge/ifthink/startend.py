"""`combination:*` and `startend:*` instructions: two answers, repeating the request, the ending, quotes."""

from __future__ import annotations

from typing import Any

from dataforge.ifthink.base import Arg, Instruction, SampleContext, register

END_PHRASES = ("Is there anything else I can help with?", "Any other questions?",
               "That is all for now.", "Let me know if this helps.")
RESPONSE_SEPARATOR = "******"
_QUOTES = {'"': '"', "“": "”"}


def _squash(text: str) -> str:
    return " ".join(text.split()).lower()


@register
class TwoResponses(Instruction):
    id = "combination:two_responses"
    phrasings = ("Give two different answers, separated by six asterisks (******) and nothing else.",
                 "Write two distinct responses; put ****** between them and use it nowhere else.")

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        pieces = response.split(RESPONSE_SEPARATOR)
        # Only the ends may be empty: "a ****** ****** b" is not two answers.
        if any(not p.strip() for p in pieces[1:-1]):
            return False
        answers = [p.strip() for p in pieces if p.strip()]
        return len(answers) == 2 and _squash(answers[0]) != _squash(answers[1])


@register
class RepeatPrompt(Instruction):
    id = "combination:repeat_prompt"
    args = (Arg("prompt_to_repeat", str),)
    phrasings = ("First repeat the request above word for word, without any change, then give your "
                 "answer (say nothing before the repeated request, and do not repeat this sentence).",)

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        # Whitespace and case are not part of "word for word"; the words and their order are.
        return _squash(response).startswith(_squash(kw["prompt_to_repeat"]))

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"prompt_to_repeat": ctx.prompt}

    def min_words(self, kw: dict[str, Any]) -> int:
        return len(kw["prompt_to_repeat"].split())

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return [kw["prompt_to_repeat"]]


@register
class EndChecker(Instruction):
    id = "startend:end_checker"
    args = (Arg("end_phrase", str),)
    phrasings = ('Finish your answer with the exact phrase "{end_phrase}" and write nothing after it.',
                 'End with the words "{end_phrase}"; nothing may follow them.')

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        # Closing quotes may wrap the whole answer (with startend:quotation) and still end it.
        body = response.strip().rstrip("\"”").strip()
        return _squash(body).endswith(_squash(kw["end_phrase"]))

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {"end_phrase": ctx.rng.choice(END_PHRASES)}

    def min_words(self, kw: dict[str, Any]) -> int:
        return len(kw["end_phrase"].split())

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        return [kw["end_phrase"].lower()]  # matched in any case


@register
class Quotation(Instruction):
    id = "startend:quotation"
    phrasings = ("Wrap your entire answer in double quotation marks.",
                 'Put the whole answer inside double quotes ("...").')

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        body = response.strip()
        return len(body) > 2 and _QUOTES.get(body[0]) == body[-1] and bool(body[1:-1].strip())
