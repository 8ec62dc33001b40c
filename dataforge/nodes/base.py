"""The node contract: a node maps a batch of input structs to outcomes, one per input.

Walking, batching, caching, retries of the engine, lineage and quarantine live in the engine; a node
only says what it needs (input type + `requires`), what it promises (output type + `guarantees`),
and how to turn inputs into outputs. LLM calls go through `ctx.generate`, which batches, caches and
counts them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from dataforge.backends.base import Completion, Prompt, Sampling
from dataforge.conditions import Predicate
from dataforge.core.errors import ForgeError
from dataforge.structs import Struct, type_name

_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True, slots=True)
class WalkContext:
    """Which walk of which run an item belongs to; the engine sets it, so nodes never re-derive it.

    Args:
        graph_id: the id of the graph the engine runs; with `seed` it names the run.
        seed: the run's global seed.
        seed_id: the id of the seed the walk started from.
        index: the walk's number among the walks of that seed in this run (0, 1, ...).
        walk_id: the id of the record the walk produces.
    """

    graph_id: str
    seed: int
    seed_id: str
    index: int
    walk_id: str

    @property
    def run(self) -> tuple[str, int]:
        """The run's identity: (graph id, seed)."""
        return self.graph_id, self.seed


@dataclass(slots=True)
class Item:
    """One walk's value at a node.

    `key` identifies the walk; nodes derive call seeds from it. `walk` says which walk of which run
    (None when a node is called outside the engine).
    """

    key: str
    value: Struct
    walk: WalkContext | None = None


@dataclass(slots=True)
class WalkStep:
    """A node's successful result for one item.

    Args:
        output: the output struct.
        info: lineage of this step (template hash, model, sampling, attempts, ...).
        calls: the LLM calls behind it as `{"prompt": ..., "reply": ...}` (emitted as SFT examples).
    """

    output: Struct
    info: dict[str, Any] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Drop:
    """The walk stops here on purpose (a filter said no, a judge scored low); it goes to `dropped/`."""

    reason: str
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Quarantined:
    """The walk failed here (unparseable reply after retries, broken contract, error); it goes to `quarantine/`."""

    reason: str
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)


Outcome = WalkStep | Drop | Quarantined


class Context(Protocol):
    """What the engine gives a node: batched, cached LLM calls and deterministic seeds."""

    model_id: str
    supports_json_schema: bool

    def generate(self, node: str, prompts: Sequence[Prompt], params: Sequence[Sampling]) -> list[Completion]: ...

    def call_seed(self, key: str, node: str, attempt: int = 0) -> int: ...


class Node:
    """Base class of every node.

    Args:
        name: unique within a graph; lowercase letters, digits, `_` and `-`.
        input: the input struct type (precondition: this type...).
        output: the output struct type (postcondition: this type...).
        requires: ...plus these predicates on the input.
        guarantees: ...plus these predicates on the output (checked by the engine on every output).
    """

    kind: ClassVar[str] = "node"
    calls_llm: ClassVar[bool] = False

    def __init__(self, name: str, input: type[Struct], output: type[Struct], *,
                 requires: Sequence[Predicate] = (), guarantees: Sequence[Predicate] = ()):
        if not name or not set(name) <= _NAME_OK or name == "seed":
            raise ForgeError(f"node name {name!r}: use lowercase letters, digits, '_' or '-' (and not 'seed')")
        for what, tp in (("input", input), ("output", output)):
            if not (isinstance(tp, type) and issubclass(tp, Struct)):
                raise ForgeError(f"node {name}: {what} must be a Struct subclass, got {tp!r}")
        self.name, self.input, self.output = name, input, output
        self.requires, self.guarantees = list(requires), list(guarantees)
        for p in self.requires:
            self._check_field(p, input, "requires")
        for p in self.guarantees:
            self._check_field(p, output, "guarantees")

    def _check_field(self, p: Predicate, tp: type[Struct], where: str) -> None:
        if p.field is not None and p.field not in tp.model_fields:
            raise ForgeError(f"node {self.name}: {where} {p.name} reads field '{p.field}', "
                             f"which {tp.__name__} does not have")

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        """Map a batch of inputs to one outcome each (same order)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """This node as JSON for the manifest (subclasses add their own settings)."""
        return {"name": self.name, "kind": self.kind, "input": type_name(self.input),
                "output": type_name(self.output), "requires": [p.name for p in self.requires],
                "guarantees": [p.name for p in self.guarantees]}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}: {type_name(self.input)} -> {type_name(self.output)})"


def carry(value: Struct, output: type[Struct], **new: Any) -> Struct:
    """Build `output` from the fields of `value` it shares, plus `new` fields."""
    fields = output.model_fields
    data = {k: v for k, v in value.model_dump().items() if k in fields}
    data.update(new)
    return output.model_validate(data)
