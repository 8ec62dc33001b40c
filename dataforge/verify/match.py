"""Exact and regex match of one answer field."""

from __future__ import annotations

import re
import unicodedata
from typing import ClassVar

from pydantic import field_validator

from dataforge.structs import Struct
from dataforge.verify.base import Verdict, Verifier, read_text, verdict


def normalize(text: str, casefold: bool) -> str:
    """NFKC, whitespace runs collapsed to one space, ends stripped; casefolded when asked."""
    text = " ".join(unicodedata.normalize("NFKC", text).split())
    return text.casefold() if casefold else text


class ExactMatch(Verifier):
    """The answer equals the reference after normalization (NFKC, whitespace; case when `casefold`).

    Args:
        answer: the field holding the answer.
        reference: the field holding the expected text.
        casefold: compare case-insensitively.
    Example:
        ExactMatch(answer="label", reference="gold").check("Positive ", "positive")  # passes
    """

    kind: ClassVar[str] = "exact"
    answer: str = "answer"
    reference: str = "reference"
    casefold: bool = True

    def fields(self) -> list[str]:
        return [self.answer, self.reference]

    def check(self, answer: str, reference: str) -> Verdict:
        got, want = normalize(answer, self.casefold), normalize(reference, self.casefold)
        if not got:
            return verdict(False, "empty_answer")
        return verdict(True, "pass") if got == want else verdict(False, f"mismatch: got {got[:60]!r}")

    def verify(self, value: Struct) -> Verdict:
        return self.check(read_text(value, self.answer), read_text(value, self.reference))


class RegexMatch(Verifier):
    """The answer matches a regular expression (searched, or matched in full with `full=True`).

    The pattern is the verifier's own config, never model output, and is compiled when the verifier
    is built (a bad pattern fails there, in one line).

    Args:
        answer: the field holding the answer.
        pattern: a Python regular expression.
        full: the whole answer (stripped) must match, not just a part of it.
        ignore_case: match case-insensitively.
    Example:
        RegexMatch(answer="reply", pattern=r"^(yes|no)\\.?$", ignore_case=True)
    """

    kind: ClassVar[str] = "regex"
    answer: str = "answer"
    pattern: str
    full: bool = False
    ignore_case: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as e:
            raise ValueError(f"not a regular expression ({e})") from None
        return v

    def fields(self) -> list[str]:
        return [self.answer]

    def check(self, answer: str) -> Verdict:
        rx = re.compile(self.pattern, re.IGNORECASE if self.ignore_case else 0)
        hit = rx.fullmatch(answer.strip()) if self.full else rx.search(answer)
        return verdict(True, "pass") if hit else verdict(False, "no_match")

    def verify(self, value: Struct) -> Verdict:
        return self.check(read_text(value, self.answer))
