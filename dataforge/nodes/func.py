"""Plain Python nodes: functions (one input at a time, or a whole batch with LLM access) and filters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from dataforge.backends.base import Completion, Prompt, Sampling
from dataforge.conditions import Predicate
from dataforge.core.errors import ForgeError, one_line
from dataforge.nodes.base import Context, Drop, Item, Node, Outcome, Quarantined, WalkContext, WalkStep, carry
from dataforge.structs import Struct


class NodeLLM:
    """What a batched function node gets to call the LLM: batched, cached, seeded per walk.

    `generate(prompts, sampling, rows=..., tag=...)`: `rows[i]` is the batch position (walk) prompt i
    belongs to (default: prompt i belongs to walk i); `tag` separates several calls of the same walk
    (e.g. the chunk number), so each gets its own seed and cache entry. `walks[i]` is the
    `WalkContext` of batch position i (run, seed, walk index; None outside the engine).
    """

    def __init__(self, ctx: Context, node: str, keys: list[str],
                 walks: list[WalkContext | None] | None = None):
        self._ctx, self._node, self._keys = ctx, node, keys
        self.walks = walks if walks is not None else [None] * len(keys)
        self.model_id = ctx.model_id
        self.supports_json_schema = ctx.supports_json_schema

    def generate(self, prompts: Sequence[Prompt], sampling: Sampling, rows: Sequence[int] | None = None,
                 tag: int | str = 0) -> list[Completion]:
        rows = list(range(len(prompts))) if rows is None else list(rows)
        if len(rows) != len(prompts):
            raise ValueError(f"got {len(rows)} rows for {len(prompts)} prompts")
        params = [sampling.with_seed(self._ctx.call_seed(self._keys[r], self._node, tag)) for r in rows]
        return self._ctx.generate(self._node, list(prompts), params)


class FunctionNode(Node):
    """Arbitrary Python from one struct to another.

    Args:
        fn: `fn(value) -> output` (a struct, or a dict of fields to add to the carried input fields),
            or with `batched=True`, `fn(values, llm) -> list of outputs` where `llm` is a `NodeLLM`.
            Returning `Drop(reason)` or `Quarantined(reason)` stops that walk; an exception quarantines it.
    Example:
        count = FunctionNode("count", Answer, Counted, lambda a: {"words": len(a.answer.split())})
    """

    kind = "function"

    def __init__(self, name: str, input: type[Struct], output: type[Struct], fn: Callable[..., Any], *,
                 batched: bool = False, calls_llm: bool | None = None,
                 requires: Sequence[Predicate] = (), guarantees: Sequence[Predicate] = ()):
        super().__init__(name, input, output, requires=requires, guarantees=guarantees)
        if not callable(fn):
            raise ForgeError(f"node {name}: fn must be callable")
        self.fn, self.batched = fn, batched
        self.calls_llm = bool(batched if calls_llm is None else calls_llm)  # type: ignore[misc]

    def _coerce(self, value: Struct, got: Any) -> Outcome:
        if isinstance(got, (WalkStep, Drop, Quarantined)):
            return got
        if isinstance(got, self.output):
            return WalkStep(got, {"function": _qualname(self.fn)})
        if isinstance(got, dict):
            return WalkStep(carry(value, self.output, **got), {"function": _qualname(self.fn)})
        return Quarantined("bad_function_result",
                          f"{_qualname(self.fn)} returned {type(got).__name__}, expected {self.output.__name__}")

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        if self.batched:
            try:
                llm = NodeLLM(ctx, self.name, [it.key for it in items], [it.walk for it in items])
                got = self.fn([it.value for it in items], llm)
            except ForgeError:
                raise
            except Exception as e:  # noqa: BLE001 - a failing user function quarantines its batch
                return [Quarantined("function_error", one_line(e)) for _ in items]
            if len(got) != len(items):
                raise ForgeError(f"node {self.name}: {_qualname(self.fn)} returned {len(got)} results "
                                 f"for {len(items)} inputs")
            return [self._safe_coerce(it.value, g) for it, g in zip(items, got, strict=True)]
        out = []
        for it in items:
            try:
                out.append(self._safe_coerce(it.value, self.fn(it.value)))
            except ForgeError:
                raise
            except Exception as e:  # noqa: BLE001 - one failing input is quarantined, the rest go on
                out.append(Quarantined("function_error", one_line(e)))
        return out

    def _safe_coerce(self, value: Struct, got: Any) -> Outcome:
        try:
            return self._coerce(value, got)
        except ValidationError as e:
            return Quarantined("bad_function_result", one_line(e))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "function": _qualname(self.fn), "batched": self.batched}


class FilterNode(Node):
    """Keeps the walks whose value passes `keep`; the others are dropped with `reason`.

    Args:
        on: the struct type filtered (input and output).
        keep: a `Predicate` (then the node guarantees it downstream) or any value -> bool function.
    Example:
        FilterNode("long_enough", Answer, min_words("answer", 3), reason="short_answer")
    """

    kind = "filter"

    def __init__(self, name: str, on: type[Struct], keep: Predicate | Callable[[Struct], bool], *,
                 reason: str = "filtered", requires: Sequence[Predicate] = ()):
        guarantees = [keep] if isinstance(keep, Predicate) else []
        super().__init__(name, on, on, requires=requires, guarantees=guarantees)
        self.keep, self.reason = keep, reason

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        out: list[Outcome] = []
        for it in items:
            try:
                ok = bool(self.keep(it.value))
            except Exception as e:  # noqa: BLE001
                out.append(Quarantined("filter_error", one_line(e)))
                continue
            out.append(WalkStep(it.value, {"filter": self._keep_name()}) if ok else Drop(self.reason))
        return out

    def _keep_name(self) -> str:
        return self.keep.name if isinstance(self.keep, Predicate) else _qualname(self.keep)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "keep": self._keep_name(), "reason": self.reason}


def _qualname(fn: Any) -> str:
    return getattr(fn, "__qualname__", type(fn).__name__)

