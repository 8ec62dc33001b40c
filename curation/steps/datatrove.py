"""Run any datatrove filter or formatter as a curation step, with datatrove's own decisions.

The datatrove object travels to executors pickled inside the task, so each partition gets its own
copy, built once. Filters are called exactly as datatrove's `BaseFilter.run` calls them (`filter`,
or `filter_batch` when `batch_size > 1`), so a record is kept here iff datatrove keeps it locally.
"""

from __future__ import annotations

import copy
from typing import Any

from curation.steps.base import Doc, chat_text, snake
from curation.steps.spacy_vocab import keep_vocab
from dataforge.core.errors import SpecError

_SKIP_ATTRS = {"stats", "exclusion_writer"}


def is_datatrove_step(obj: Any) -> bool:
    try:
        from datatrove.pipeline.filters.base_filter import BaseFilter
        from datatrove.pipeline.formatters.base import BaseFormatter
    except ImportError:  # pragma: no cover - datatrove is a declared dependency
        return False
    return isinstance(obj, BaseFilter | BaseFormatter)


_NOPE = object()


def _jsonable(v: Any) -> Any:
    """JSON form of a setting, or _NOPE when it has none (regexes, writers, models)."""
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, set | frozenset):
        v = sorted(v, key=repr)
    if isinstance(v, list | tuple) and v and all(isinstance(x, str) for x in v):
        # datatrove builds some of these from sets (FineWeb's stop_chars), so their order changes with
        # PYTHONHASHSEED; sorted, the manifest (and its id) is the same in every process
        v = sorted(v)
    if isinstance(v, list | tuple):
        out = [_jsonable(x) for x in v]
        return _NOPE if any(x is _NOPE for x in out) else out
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        out = {k: _jsonable(x) for k, x in v.items()}
        return _NOPE if any(x is _NOPE for x in out.values()) else out
    return _NOPE


def datatrove_config(obj: Any) -> dict[str, Any]:
    """Class path and the JSON-able settings of a datatrove step (what the manifest records)."""
    params = {}
    for k, v in sorted(vars(obj).items()):
        if k.startswith("_") or k in _SKIP_ATTRS:
            continue
        j = _jsonable(v)
        if j is not _NOPE:
            params[k] = j
    cls = type(obj)
    return {"step": cls.__name__, "class": f"{cls.__module__}.{cls.__qualname__}", "params": params}


class DatatroveStep:
    """Adapter: a datatrove `BaseFilter` or `BaseFormatter` as a record step.

    Args:
        obj: the datatrove instance from the pipeline spec, e.g. `GopherQualityFilter()`.
    Example:
        DatatroveStep(C4QualityFilter()).judge_batch([Doc(id="1", text="...")])
    """

    def __init__(self, obj: Any):
        if not is_datatrove_step(obj):
            raise SpecError(f"{type(obj).__name__}: not a datatrove filter or formatter, nor a curation step")
        from datatrove.pipeline.filters.base_filter import BaseFilter

        self.obj = obj
        self.is_filter = isinstance(obj, BaseFilter)
        self.name = type(obj).__name__
        self._default_reason = snake(self.name)
        self._pristine = None

    def config(self) -> dict[str, Any]:
        return datatrove_config(self.obj)

    def prepare(self, spark) -> None:
        pass

    def pins(self) -> dict[str, str]:
        return {}

    def open(self) -> None:
        if not self.is_filter:
            # Formatters such as PIIFormatter rotate replacements with a counter; starting every
            # document from the pristine object makes the output independent of partitioning.
            self._pristine = copy.deepcopy(self.obj)

    def _document(self, doc: Doc):
        from datatrove.data import Document

        return Document(text=doc.text, id=doc.id, metadata=dict(doc.metadata))

    def judge_batch(self, docs: list[Doc]) -> list[str | None]:
        if not self.is_filter:
            for d in docs:
                self._format(d)
            return [None] * len(docs)
        from datatrove.pipeline.filters.base_filter import get_filter_result

        if hasattr(self.obj, "language"):
            keep_vocab(self.obj.language)
        dt_docs = [self._document(d) for d in docs]
        if self.obj.batch_size > 1:
            results = self.obj.filter_batch(dt_docs)
        else:
            results = [self.obj.filter(d) for d in dt_docs]
        out: list[str | None] = []
        for d, dt, res in zip(docs, dt_docs, results, strict=True):
            keep, reason = get_filter_result(res)
            if keep:
                if not d.is_chat:  # e.g. C4QualityFilter rewrites the text it keeps
                    d.text = dt.text
                d.metadata.update(dt.metadata)
                out.append(None)
            else:
                out.append(reason or self._default_reason)
        return out

    def _format(self, d: Doc) -> None:
        fmt = copy.deepcopy(self._pristine)
        if d.is_chat:
            # every other message field (tool calls, reasoning) is kept; only string contents are formatted
            d.messages = [{**m, "content": fmt.format(m["content"])} if isinstance(m.get("content"), str) else m
                          for m in d.messages]
            d.text = chat_text(d.messages)
        else:
            d.text = fmt.format(d.text)
