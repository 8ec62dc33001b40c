"""`Where`: run a record step on some records only; the others pass it untouched.

Curating several inputs in one job is common (a crawl plus generated chat data), and their rules
differ: Gopher's 50-word minimum suits web pages, not a one-line question and its answer. Scoping
a step keeps one pipeline, one ledger and one dedup over everything.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PrivateAttr, model_validator

from curation.steps.base import Doc, RecordStep, config_of
from curation.steps.datatrove import DatatroveStep, is_datatrove_step


class Where(RecordStep):
    """Apply `step` only to records of the given kind and/or sources.

    Args:
        step: a datatrove filter/formatter or a record step of this package.
        kind: "text", "chat", "preference" or "completion" records only (None: every kind).
        sources: only records whose `source` is one of these (None: any source).
    Example:
        Where(GopherQualityFilter(), kind="text")
    """

    step: Any
    kind: Literal["text", "chat", "preference", "completion"] | None = None
    sources: list[str] | None = None
    _runnable: Any = PrivateAttr(None)

    def __init__(self, step: Any = None, /, **data: Any):
        if step is not None:
            data["step"] = step
        super().__init__(**data)

    @model_validator(mode="after")
    def _record_step(self) -> Where:
        if not (is_datatrove_step(self.step) or isinstance(self.step, RecordStep)):
            raise ValueError(f"{type(self.step).__name__} is not a datatrove filter/formatter or a record "
                             "step (dataset steps such as dedup see every record)")
        if self.kind is None and not self.sources:
            raise ValueError("give kind= and/or sources=, else the step applies to everything")
        return self

    @property
    def name(self) -> str:
        return type(self.step).__name__

    def config(self) -> dict[str, Any]:
        return {"step": "Where", "kind": self.kind, "sources": self.sources, "inner": config_of(self.step)}

    def _inner(self):
        if self._runnable is None:
            self._runnable = DatatroveStep(self.step) if is_datatrove_step(self.step) else self.step
        return self._runnable

    def prepare(self, spark) -> None:
        self._inner().prepare(spark)

    def pins(self) -> dict[str, str]:
        return self._inner().pins()

    def open(self) -> None:
        self._inner().open()

    def _applies(self, doc: Doc) -> bool:
        if self.kind is not None and self.kind != doc.kind:
            return False
        return not self.sources or doc.source in self.sources

    def judge_batch(self, docs: list[Doc]) -> list[str | None]:
        chosen = [i for i, d in enumerate(docs) if self._applies(d)]
        out: list[str | None] = [None] * len(docs)
        if chosen:
            for i, verdict in zip(chosen, self._inner().judge_batch([docs[i] for i in chosen]), strict=True):
                out[i] = verdict
        return out
