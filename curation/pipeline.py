"""The pipeline spec: `pipeline = [...]` in a Python module, or a `Pipeline` with options."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, field_validator

from curation.parse import MAX_DOC_BYTES
from curation.steps.base import DatasetStep, RecordStep, config_of
from curation.warc_split import SPLIT_BYTES
from dataforge.core.errors import SpecError
from dataforge.core.spec import SpecModel, SpecValidationError


class Pipeline(SpecModel):
    """An ordered list of steps plus reading options.

    Args:
        steps: datatrove filters/formatters and `curation` steps, applied in order.
        text_field: the JSON field holding the document text (chat records use `messages`).
        keep_dropped: keep dropped records under `DIR/dropped/` so any decision can be reversed.
        max_doc_bytes: lines longer than this are quarantined as `too_large`.
        warc_split_bytes: a WARC file larger than this is read by several tasks, one per byte range
            of it (see curation/warc_split.py). Not part of `config()`: any split size gives the same
            records, ids, ledger and bytes.
        strict: an input file that cannot be read to its end (truncated or corrupt compression, bad
            Parquet, broken symlink, ...) fails the run instead of being quarantined as a file. Not part
            of `config()`: a strict run that succeeds writes exactly what a lenient one writes.
    Example:
        pipeline = Pipeline(steps=[ExactDedup(), GopherQualityFilter()], text_field="content")
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid", frozen=True)

    steps: list[Any]
    text_field: str = "text"
    keep_dropped: bool = True
    max_doc_bytes: int = Field(MAX_DOC_BYTES, gt=0)
    warc_split_bytes: int = Field(SPLIT_BYTES, gt=0)
    strict: bool = False

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, steps: list[Any]) -> list[Any]:
        from curation.steps.datatrove import is_datatrove_step

        for i, s in enumerate(steps):
            if not (isinstance(s, RecordStep | DatasetStep) or is_datatrove_step(s)):
                raise ValueError(f"pipeline[{i}] is a {type(s).__name__}: expected a datatrove filter or "
                                 "formatter, or a step from `curation`")
        return steps

    def config(self) -> dict[str, Any]:
        return {"steps": [config_of(s) for s in self.steps], "text_field": self.text_field,
                "keep_dropped": self.keep_dropped, "max_doc_bytes": self.max_doc_bytes}

    def step_names(self) -> list[str]:
        """Unique ledger names: the class name, with #2, #3 ... when a class appears again."""
        seen: dict[str, int] = {}
        names = []
        for s in self.steps:
            base = s.name if isinstance(s, RecordStep | DatasetStep) else type(s).__name__
            seen[base] = seen.get(base, 0) + 1
            names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
        return names


def as_pipeline(obj: Any, where: str = "pipeline") -> Pipeline:
    """Accept `pipeline = [...]` or `pipeline = Pipeline(...)`; one-line SpecError otherwise."""
    if isinstance(obj, Pipeline):
        return obj
    if isinstance(obj, list | tuple):
        try:
            return Pipeline(steps=list(obj))
        except SpecValidationError as e:
            raise SpecError(f"{where}: {e.reason}") from None
    raise SpecError(f"{where}: `pipeline` is a {type(obj).__name__}; assign a list of steps or a Pipeline")
