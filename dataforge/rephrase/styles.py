"""The rephrasing prompt bank: styles and perspectives a source text is rewritten into.

Each style is an instruction (a jinja2 template that may use the style's `params`, e.g. the target
language); the shared frame around it adds the source chunk and, for every chunk after the first,
the rephrase of the previous chunk so the pieces read as one document. Users add their own styles
with `RephraseStyle(...)` in a spec, or `register_style` to make one available by name.
"""

from __future__ import annotations

from typing import Any

import jinja2
from pydantic import Field, field_validator

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.spec import SpecModel, check_name

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)

SYSTEM = ("You rewrite source text faithfully. Keep every fact, number, name, date and formula of the "
          "source; add no facts of your own.")
FRAME = """{{ instruction }}
{% if previous %}
The text is one part of a longer document. Your rewrite of the part just before it was:
<previous>
{{ previous }}
</previous>
Continue from it in the same style; do not repeat it.
{% endif %}
Source text:
<source>
{{ text }}
</source>

Write only the rewritten text."""


class RephraseStyle(SpecModel):
    """One rephrasing style.

    Args:
        name: short snake_case id, recorded in every output's metadata.
        instruction: what to do with the source (jinja2; may use `params`).
        params: values the instruction uses, e.g. {"target_language": "French"}.
        fidelity_threshold: document-level MiniLM cosine below which the rephrase is quarantined;
            None uses the run's threshold; a style whose output is not in English (translation)
            sets `embedding_check=False` instead, since MiniLM only compares English texts.
        embedding_check: gate on the embedding fidelity (scores are recorded either way).
    Example:
        RephraseStyle(name="tweet_thread", instruction="Rewrite the text as a thread of short posts.")
    """

    name: str
    instruction: str
    params: dict[str, Any] = Field(default_factory=dict)
    system: str = SYSTEM
    frame: str = FRAME
    fidelity_threshold: float | None = Field(None, ge=-1, le=1)
    embedding_check: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_name(v, "style name")

    @field_validator("instruction", "frame")
    @classmethod
    def _template(cls, v: str) -> str:
        try:
            _ENV.parse(v)
        except jinja2.TemplateSyntaxError as e:
            raise ValueError(f"template does not parse: {e.message} (line {e.lineno})") from e
        return v

    def with_params(self, **params: Any) -> RephraseStyle:
        """A copy with some params replaced, e.g. `STYLES["translation"].with_params(target_language="German")`."""
        return self.model_copy(update={"params": {**self.params, **params}})

    @property
    def key(self) -> str:
        """The style's identity in ids and caches: its name plus a hash of everything that shapes prompts."""
        return f"{self.name}-{stable_hash(self.model_dump(mode='json'), 8)}"

    def messages(self, text: str, previous: str = "") -> list[dict[str, str]]:
        """The chat prompt for one chunk; `previous` is the rephrase of the chunk before it."""
        try:
            instruction = _ENV.from_string(self.instruction).render(**self.params).strip()
            user = _ENV.from_string(self.frame).render(instruction=instruction, text=text.strip(),
                                                      previous=previous.strip(), params=self.params)
        except jinja2.UndefinedError as e:
            raise ForgeError(f"rephrase style {self.name!r}: {e.message}; set it in the style's params") from e
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user.strip()}]


STYLES: dict[str, RephraseStyle] = {}


def register_style(style: RephraseStyle, replace: bool = False) -> RephraseStyle:
    """Make `style` available by name (in `STYLES` and `get_style`)."""
    if style.name in STYLES and not replace:
        raise ForgeError(f"rephrase style {style.name!r} already exists; pick another name or pass replace=True")
    STYLES[style.name] = style
    return style


def get_style(style: str | RephraseStyle) -> RephraseStyle:
    if isinstance(style, RephraseStyle):
        return style
    if style not in STYLES:
        raise ForgeError(f"unknown rephrase style {style!r}; built-in styles: {sorted(STYLES)}")
    return STYLES[style]


for _style in (
    RephraseStyle(name="encyclopedic", instruction=(
        "Rewrite the text as a neutral, well-organized encyclopedia article section: formal register, "
        "third person, precise definitions first, then details.")),
    RephraseStyle(name="question_answer", instruction=(
        "Rewrite the text as a series of questions a curious reader would ask, each followed by its "
        "answer. Every fact of the text must appear in some answer. Format: 'Q: ...' then 'A: ...'.")),
    RephraseStyle(name="study_notes", instruction=(
        "Rewrite the text as a student's study notes: key definitions, the main results, and every "
        "calculation or derivation worked out step by step with each intermediate value shown. Keep all "
        "formulas and numbers exact.")),
    RephraseStyle(name="lecture", instruction=(
        "Rewrite the text as a transcript of a teacher giving a lecture on it: spoken, engaging, "
        "explaining why each point matters, addressing the class directly.")),
    RephraseStyle(name="young_reader", instruction=(
        "Rewrite the text for a curious {{ age | default(10) }}-year-old: short sentences, everyday words, "
        "a concrete comparison for any hard idea, and no fact left out or changed.")),
    RephraseStyle(name="dialogue", instruction=(
        "Rewrite the text as a conversation between {{ speakers | default('a student and a tutor') }} in "
        "which all of its information comes up naturally. Prefix each line with the speaker's name.")),
    RephraseStyle(name="translation", params={"target_language": "French"}, embedding_check=False, instruction=(
        "Translate the text into {{ target_language }}. Translate everything; keep names, numbers and "
        "formulas unchanged; write only in {{ target_language }}.")),
    RephraseStyle(name="textbook", instruction=(
        "Rewrite the text as a section of a textbook: an introduction, clear explanations in logical "
        "order, and a worked example where the text allows one.")),
    RephraseStyle(name="news_report", instruction=(
        "Rewrite the text as a news report: a headline, the most important information first, then "
        "background, in plain journalistic prose.")),
    RephraseStyle(name="first_person_expert", instruction=(
        "Rewrite the text from the perspective of an expert in the field explaining it in the first "
        "person to a colleague, keeping every technical detail.")),
):
    register_style(_style)
