"""The one step shape of the curation layer.

A step either judges records one at a time (`RecordStep`: filters, classifiers, formatters) or
looks at the whole dataset (`DatasetStep`: dedup). Steps only decide; the runner (`curation.runner`)
owns Spark, the ledger, quarantine, the dropped store and the stats, so a new filter is a class with
one method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ConfigDict

from dataforge.core.spec import SpecModel


@dataclass(slots=True)
class Doc:
    """One record as steps see it.

    `text` is what steps judge, the contract's `judged_text`: the document text; for a chat record the
    message contents joined by blank lines (`messages` holds the messages themselves); for a preference
    record prompt + chosen; for a completion record prompt + completion. A step may rewrite `text`
    (text records only: other kinds keep their fields) and add `metadata` keys.
    """

    id: str
    text: str
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, Any]] | None = None
    kind: str = ""  # text, chat, preference or completion ("" = text, or chat when `messages` is set)

    def __post_init__(self) -> None:
        if not self.kind:
            self.kind = "chat" if self.messages is not None else "text"

    @property
    def is_chat(self) -> bool:
        return self.messages is not None


def chat_text(messages: list[dict[str, Any]]) -> str:
    """The text a chat record is judged by: its message contents, joined by blank lines."""
    from dataforge.core.records import messages_text

    return messages_text(messages)


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class Quarantine(str):
    """A verdict that quarantines rather than drops (the step could not judge the record).

    Example: `return Quarantine("judge_unparseable")` from `judge`.
    """


class Step(SpecModel):
    """Base of this package's steps: a pydantic model whose fields are its configuration.

    The fields serialize into the curated dataset's manifest, so the manifest shows exactly what ran.
    Runtime state (loaded models) lives in private attributes and is built once per partition.
    """

    # Not frozen: a step records what `prepare` measured (Decontaminate's benchmark hashes and n-gram
    # count, the judge's resolved backend) in its own fields, so the manifest shows it.
    model_config = ConfigDict(extra="forbid", frozen=False, arbitrary_types_allowed=True)

    @property
    def name(self) -> str:
        return type(self).__name__

    def config(self) -> dict[str, Any]:
        return {"step": self.name, **self.model_dump(mode="json")}

    def prepare(self, spark) -> None:
        """Driver-side, before the job: ship files, pin model hashes. Default: nothing."""

    def pins(self) -> dict[str, str]:
        """Files this step depends on, path -> sha256, recorded in the manifest (after `prepare`)."""
        return {}


class RecordStep(Step):
    """Judges records one by one. Subclasses implement `judge` (or `judge_batch` for batched models).

    `judge` returns None to keep the record, a short snake_case reason to drop it, or a `Quarantine`
    reason when it could not judge it; it may rewrite
    `doc.text` or add `doc.metadata` keys. `open` runs once per partition before the first record.
    """

    def open(self) -> None:
        """Load models or tables; runs executor-side, once per partition."""

    def judge(self, doc: Doc) -> str | None:
        raise NotImplementedError

    def judge_batch(self, docs: list[Doc]) -> list[str | None]:
        return [self.judge(d) for d in docs]


class DatasetStep(Step):
    """Decides over the whole dataset (dedup). `drops(ctx, df)` returns the rows to drop.

    The input DataFrame has the runner's work columns (`_key` unique and ordered like the input,
    `_node` a 64-bit hash of `_key`, `id`, `text`, `source`, ...). The result has `_key`, `reason`
    and `cluster_id` (the id of the record kept for the cluster).
    """

    def drops(self, ctx, df):
        raise NotImplementedError


def config_of(step: Any) -> dict[str, Any]:
    """JSON form of any step (ours or a datatrove instance), for the manifest."""
    if isinstance(step, Step):
        return step.config()
    from curation.steps.datatrove import datatrove_config

    return datatrove_config(step)
