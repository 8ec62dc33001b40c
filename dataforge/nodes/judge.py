"""LLM-as-judge: a rubric turns the input into a numeric score and a rationale; low scores are dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dataforge.backends.base import Sampling
from dataforge.conditions import Predicate, at_least
from dataforge.core.errors import ForgeError
from dataforge.nodes.base import Context, Drop, Item, Outcome, WalkStep, carry
from dataforge.nodes.llm import LLMNode
from dataforge.nodes.parsing import ParseError, parse_json_object, parse_score
from dataforge.structs import Struct

DEFAULT_PROMPT = """Rubric: {{ rubric }}

{% for name, value in fields %}{{ name | capitalize }}: {{ value }}
{% endfor %}
Rate how well this meets the rubric on a scale from {{ lo }} (not at all) to {{ hi }} (fully). \
Reply in JSON with a score and a one-sentence rationale."""


class JudgeNode(LLMNode):
    """Scores its input against a rubric; walks scoring below `threshold` are dropped (with the score).

    The output struct carries the input's fields plus `score` (int or float) and `rationale` (str).

    Args:
        rubric: what a good example looks like.
        threshold: the lowest score that passes (the node guarantees `at_least(score, threshold)`).
        scale: the score range (inclusive).
        fields: input fields shown to the judge (default: all of them).
        prompt: a jinja2 template replacing the default; it sees the input fields and `rubric`, `lo`,
            `hi`, `fields` (name, value pairs).
    Example:
        grade = JudgeNode("grade", Answer, Graded, rubric="The answer is correct and grounded.",
                          threshold=3, sampling=Sampling(max_tokens=32, temperature=0.2))
    """

    kind = "judge"
    template_vars = frozenset({"input", "rubric", "lo", "hi", "fields"})

    def __init__(self, name: str, input: type[Struct], output: type[Struct], *, rubric: str,
                 threshold: float, scale: tuple[float, float] = (1, 5), fields: Sequence[str] | None = None,
                 prompt: str | None = None, sampling: Sampling | None = None, structured: bool = True,
                 retries: int = 2, score_field: str = "score", rationale_field: str = "rationale",
                 requires: Sequence[Predicate] = ()):
        lo, hi = scale
        if not lo <= threshold <= hi:
            raise ForgeError(f"node {name}: threshold {threshold} is outside the scale {scale}")
        for f in (score_field, rationale_field):
            if f not in output.model_fields or f in input.model_fields:
                raise ForgeError(f"node {name}: the judge's output {output.__name__} must add a '{f}' field "
                                 f"that {input.__name__} does not have")
        self.rubric, self.threshold, self.scale = rubric, threshold, (lo, hi)
        self.score_field, self.rationale_field = score_field, rationale_field
        self.shown = list(fields) if fields is not None else list(input.model_fields)
        unknown = [f for f in self.shown if f not in input.model_fields]
        if unknown:
            raise ForgeError(f"node {name}: fields {unknown} are not in {input.__name__}")
        super().__init__(name, input, output, prompt or DEFAULT_PROMPT,
                         sampling=sampling or Sampling(max_tokens=48, temperature=0.2),
                         structured=structured, retries=retries, requires=requires,
                         guarantees=[at_least(score_field, threshold)])
        self.reply_field = None

    def _infer_reply_field(self) -> str | None:
        return None

    def broken(self, out: Struct) -> list[str]:
        return []  # a low score is a verdict (the walk is dropped below), not a reply to retry

    def render(self, value: Struct):
        ns = {**{k: getattr(value, k) for k in type(value).model_fields}, "input": value,
              "rubric": self.rubric, "lo": _num(self.scale[0]), "hi": _num(self.scale[1]),
              "fields": [(f, getattr(value, f)) for f in self.shown]}
        return [{"role": "user", "content": self.template.render(ns)}]

    def params(self, ctx: Context) -> Sampling:
        if not (self.structured and ctx.supports_json_schema):
            return self.sampling
        is_int = self.output.model_fields[self.score_field].annotation is int
        schema = {"type": "object", "properties": {
            self.score_field: {"type": "integer" if is_int else "number",
                               "minimum": self.scale[0], "maximum": self.scale[1]},
            self.rationale_field: {"type": "string"}},
            "required": [self.score_field, self.rationale_field]}
        return self.sampling.model_copy(update={"json_schema": schema})

    def parse(self, reply: str, value: Struct, finish_reason: str, reasoning: str | None = None) -> Struct:
        lo, hi = self.scale
        try:
            obj = parse_json_object(reply)
            score = obj[self.score_field]
            rationale = str(obj.get(self.rationale_field, "")).strip()
            if not isinstance(score, (int, float)) or isinstance(score, bool) or not lo <= score <= hi:
                raise ParseError(f"score {score!r} is not a number in [{lo:g}, {hi:g}]")
        except (ParseError, KeyError):
            score, rationale = parse_score(reply, lo, hi), reply.strip()
        if self.output.model_fields[self.score_field].annotation is int:
            score = int(round(score))
        return carry(value, self.output, **{self.score_field: score, self.rationale_field: rationale})

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        outcomes = super().run(items, ctx)
        for i, o in enumerate(outcomes):
            if isinstance(o, WalkStep):
                score = getattr(o.output, self.score_field)
                if score < self.threshold:
                    outcomes[i] = Drop("below_threshold", f"score {score:g} < {self.threshold:g}",
                                       {**o.info, "output": o.output.model_dump(mode="json")})
        return outcomes

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "rubric": self.rubric, "threshold": self.threshold,
                "scale": list(self.scale), "fields": self.shown}


def _num(x: float) -> str:
    return f"{x:g}"
