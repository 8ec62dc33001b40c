"""Predicates on struct fields: the checkable part of node pre- and postconditions.

A node's precondition is its input struct type plus `requires` predicates; its postcondition is its
output type plus `guarantees`. An edge A -> B needs every predicate B requires to be implied by one
A guarantees. Predicates compare by their canonical name (`nonempty(question)`), so the graph can
check them before any call, and the engine evaluates them on every value at run time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


class Predicate:
    """A named check on one field of a struct (or on the whole struct when `field` is None).

    Args:
        name: canonical name; two predicates with the same name are the same condition.
        field: the field it reads (checked against the struct type when the graph is built).
        fn: value -> bool.
    Example:
        long_enough = Predicate("min_words(answer,3)", "answer", lambda v: len(v.split()) >= 3)
    """

    def __init__(self, name: str, field: str | None, fn: Callable[[Any], bool]):
        self.name, self.field, self.fn = name, field, fn

    def __call__(self, struct: Any) -> bool:
        value = struct if self.field is None else getattr(struct, self.field, None)
        try:
            return bool(self.fn(value))
        except Exception:  # noqa: BLE001 - a predicate that cannot evaluate a value is not met by it
            return False

    def implies(self, other: Predicate) -> bool:
        return self.name == other.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Predicate) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return self.name


class _Bound(Predicate):
    """A numeric lower or upper bound; a tighter bound implies a looser one on the same field."""

    def __init__(self, field: str, bound: float, lower: bool):
        name = f"{'at_least' if lower else 'at_most'}({field},{bound:g})"
        fn = (lambda v: v is not None and v >= bound) if lower else (lambda v: v is not None and v <= bound)
        super().__init__(name, field, fn)
        self.bound, self.lower = bound, lower

    def implies(self, other: Predicate) -> bool:
        if isinstance(other, _Bound) and other.field == self.field and other.lower == self.lower:
            return self.bound >= other.bound if self.lower else self.bound <= other.bound
        return super().implies(other)


def nonempty(field: str) -> Predicate:
    """The field is a non-blank string or a non-empty collection."""
    return Predicate(f"nonempty({field})", field,
                     lambda v: bool(v.strip()) if isinstance(v, str) else bool(v))


def at_least(field: str, bound: float) -> Predicate:
    return _Bound(field, bound, lower=True)


def at_most(field: str, bound: float) -> Predicate:
    return _Bound(field, bound, lower=False)


def max_words(field: str, n: int) -> Predicate:
    return Predicate(f"max_words({field},{n})", field, lambda v: len(str(v).split()) <= n)


def min_words(field: str, n: int) -> Predicate:
    return Predicate(f"min_words({field},{n})", field, lambda v: len(str(v).split()) >= n)


def one_of(field: str, values: list[Any]) -> Predicate:
    allowed = tuple(values)
    return Predicate(f"one_of({field},{'|'.join(map(str, allowed))})", field, lambda v: v in allowed)


def matches(field: str, pattern: str) -> Predicate:
    rx = re.compile(pattern)
    return Predicate(f"matches({field},{pattern})", field, lambda v: rx.search(str(v)) is not None)


def implied(needed: Predicate, given: list[Predicate]) -> bool:
    return any(g.implies(needed) for g in given)
