"""Contract checks between nodes: does A's postcondition meet B's precondition?"""

from __future__ import annotations

from typing import Any

from dataforge.conditions import Predicate, implied
from dataforge.structs import Struct, field_types, is_assignable, required_fields, type_name


def unmet(out: type[Struct], guarantees: list[Predicate], inp: type[Struct], requires: list[Predicate]) -> str | None:
    """Why a value of type `out` with `guarantees` may not enter a node needing `inp` + `requires` (None: it may)."""
    have, need = field_types(out), field_types(inp)
    for f in required_fields(inp):
        if f not in have:
            return f"{out.__name__} has no field '{f}' that {inp.__name__} needs"
    for f, tp in need.items():
        if f in have and not is_assignable(have[f], tp):
            return f"field '{f}' is {type_name(have[f])} in {out.__name__} but {inp.__name__} needs {type_name(tp)}"
    for p in requires:
        if not implied(p, guarantees):
            return f"it requires {p.name}, which is not guaranteed (guarantees: {[g.name for g in guarantees]})"
    return None


def convert(value: Struct, to: type[Struct]) -> Struct:
    """Project a value onto the next node's input type (fields it does not need are left behind)."""
    if type(value) is to:
        return value
    data: dict[str, Any] = {k: getattr(value, k) for k in to.model_fields if k in type(value).model_fields}
    return to.model_validate(data)
