"""The shape every verifiable instruction shares: declared arguments, rendering, sampling, checking.

An instruction is a small class with an IFEval id, its argument names, natural-language phrasings,
a sampler for arguments and a deterministic `verify`. Families live in their own modules and
register themselves in `REGISTRY` on import.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, ClassVar

from dataforge.core.errors import ForgeError

RELATIONS = ("less than", "at least")  # IFEval's two comparison relations, spelled as IFEval does
REGISTRY: dict[str, Instruction] = {}


@dataclass(frozen=True, slots=True)
class Arg:
    """One declared argument: its name, Python type and (optionally) allowed values or a minimum."""

    name: str
    type: type
    choices: tuple[Any, ...] | None = None
    minimum: int | None = None


@dataclass(slots=True)
class SampleContext:
    """What the sampler may use when it picks arguments.

    Args:
        rng: the seeded random source (same seed, same constraints).
        prompt: the user request, needed by `combination:repeat_prompt`.
        max_words: the longest answer the generator can produce; "at least N words" style
            arguments are kept below it so every sampled constraint can be met. None: no cap.
        taken_words: words already used by other constraints of the conversation, so keyword
            constraints never require and forbid the same word.
    """

    rng: random.Random
    prompt: str = ""
    max_words: int | None = None
    taken_words: set[str] = field(default_factory=set)

    def randint(self, lo: int, hi: int, share: float | None = None) -> int:
        """A random int in [lo, hi]; with `share`, hi is lowered to that share of the word budget
        (never below lo), so a length requirement stays within what the generator can write."""
        if share is not None and self.max_words is not None:
            hi = max(lo, min(hi, int(self.max_words * share)))
        return self.rng.randint(lo, hi)


class Instruction:
    """Base class: subclasses set `id`, `args` and `phrasings`, and implement `verify` and `sample`."""

    id: ClassVar[str]
    args: ClassVar[tuple[Arg, ...]] = ()
    phrasings: ClassVar[tuple[str, ...]]

    def verify(self, kw: dict[str, Any], response: str) -> bool:
        """DataForge's strict check (`check(..., strict=True)`)."""
        raise NotImplementedError

    def reference(self, kw: dict[str, Any], response: str) -> bool:
        """The reference IFEval verdict (google-research instruction_following_eval, as lm-evaluation-harness
        runs it): the rule in `dataforge.ifthink.reference` where it differs from `verify`."""
        from dataforge.ifthink.reference import REFERENCE

        rule = REFERENCE.get(self.id)
        return bool(rule(kw, response)) if rule is not None else bool(self.verify(kw, response))

    def judge(self, kw: dict[str, Any], response: str, strict: bool) -> bool:
        # The harness fails every instruction on an empty (or whitespace-only) response. Strict mode
        # also requires the reference verdict, so whatever it keeps passes the evaluation.
        if not response.strip() or not self.reference(kw, response):
            return False
        return bool(self.verify(kw, response)) if strict else True

    def sample(self, ctx: SampleContext) -> dict[str, Any]:
        return {}

    def min_words(self, kw: dict[str, Any]) -> int:
        """A lower bound on the words any answer meeting this instruction has (0: none)."""
        return 0

    def max_words(self, kw: dict[str, Any]) -> int | None:
        """An upper bound on the words of an answer meeting this instruction (None: unbounded)."""
        return None

    def min_lines(self, kw: dict[str, Any]) -> int:
        """A lower bound on the sentences/lines of an answer meeting this instruction (0: none)."""
        return 0

    def required_text(self, kw: dict[str, Any]) -> list[str]:
        """Text every answer meeting this instruction contains (for argument-level conflicts)."""
        return []

    def validate(self, kwargs: dict[str, Any] | None) -> dict[str, Any]:
        """Return the instruction's arguments, checked; a one-line ForgeError names what is wrong."""
        kwargs = dict(kwargs or {})
        names = {a.name for a in self.args}
        # IFEval's data lists every argument of every instruction, unused ones as null: accept that.
        extra = sorted(k for k, v in kwargs.items() if k not in names and v is not None)
        if extra:
            raise ForgeError(f"{self.id}: unknown argument(s) {extra}; it takes {sorted(names) or 'none'}")
        out: dict[str, Any] = {}
        for a in self.args:
            value = kwargs.get(a.name)
            if value is None:
                raise ForgeError(f"{self.id}: missing argument {a.name!r}; it takes {sorted(names)}")
            if (a.type is int and isinstance(value, bool)) or not isinstance(value, a.type):
                raise ForgeError(f"{self.id}: argument {a.name!r} must be a {a.type.__name__}, got {value!r}")
            if a.type is list:
                if not value or not all(isinstance(v, str) and v.strip() for v in value):
                    raise ForgeError(f"{self.id}: argument {a.name!r} must be a non-empty list of words")
            if a.type is str and not value.strip():
                raise ForgeError(f"{self.id}: argument {a.name!r} must not be empty")
            if a.choices is not None and value not in a.choices:
                raise ForgeError(f"{self.id}: argument {a.name!r} must be one of {list(a.choices)}, got {value!r}")
            if a.minimum is not None and value < a.minimum:
                raise ForgeError(f"{self.id}: argument {a.name!r} must be >= {a.minimum}, got {value}")
            out[a.name] = value
        return out

    def describe(self, kw: dict[str, Any], variant: int = 0) -> str:
        """The instruction as a sentence a user would write; `variant` picks one of the phrasings."""
        text = self.phrasings[variant % len(self.phrasings)]
        return text.format(**{k: _show(v) for k, v in kw.items()})


def _show(value: Any) -> Any:
    if value == "less than":
        return "fewer than"  # every relation counts things (words, sentences, letters)
    if isinstance(value, list):
        quoted = [f'"{v}"' for v in value]
        return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    return value


def compare(count: int, relation: str, threshold: int) -> bool:
    return count < threshold if relation == "less than" else count >= threshold


def register(cls: type[Instruction]) -> type[Instruction]:
    if cls.id in REGISTRY:
        raise ValueError(f"instruction {cls.id} registered twice")
    REGISTRY[cls.id] = cls()
    return cls


def get(instruction_id: str) -> Instruction:
    try:
        return REGISTRY[instruction_id]
    except KeyError:
        raise ForgeError(
            f"unknown instruction id {instruction_id!r}; use one of the IFEval ids, e.g. "
            "'length_constraints:number_words' (see dataforge.ifthink.INSTRUCTION_IDS)"
        ) from None
