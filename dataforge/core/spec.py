"""The one base of every spec and config class: `SpecModel`.

Specs (graph and backend settings, taxonomies, rephrase and IFThink configs, curation steps and
pipelines, mixtures, training runs) are what a user writes in a spec module. They share three rules:
they are frozen (a spec read twice says the same thing, and its hash in a manifest stays true), unknown
fields are refused (a typo'd option must not be silently ignored), and a bad value raises ONE line
naming the class and the field path (`Sampling.max_tokens: must be >= 1 (got 0)`) as a
`SpecValidationError`, which the CLI prints as `forge: error: ...`.

Names that become file names, manifest keys or ids follow one rule, `NAME_RULE`.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from dataforge.core.errors import SpecError, field_reason

NAME_RULE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
NAME_HINT = "use 1-64 lowercase letters, digits, '_' or '-', starting with a letter"


class SpecValidationError(SpecError, ValueError):
    """A spec built with a bad value; the message is one line naming the class and field.

    Also a `ValueError`, as pydantic's `ValidationError` is, so callers that caught that still catch this.
    """


def check_name(value: Any, what: str = "name") -> str:
    """`value` when it follows `NAME_RULE`, else a ValueError (inside a validator it names the field)."""
    if not isinstance(value, str) or not NAME_RULE.match(value):
        raise ValueError(f"{what} {value!r}: {NAME_HINT} (names become file names and ids)")
    return value


class SpecModel(BaseModel):
    """Base of every spec and config class: frozen, extra fields forbidden, one-line errors.

    Subclasses may set `error_class` (a `SpecError` subclass their layer raises) and `spec_label` (how the
    message names the class; default its name, with its `name` field when it has one).

    Example:
        class Sampling(SpecModel):
            max_tokens: int = Field(512, ge=1)
        Sampling(max_tokens=0)  # SpecValidationError: Sampling.max_tokens: must be >= 1 (got 0)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    error_class: ClassVar[type[SpecError]] = SpecValidationError

    def __init__(self, /, **data: Any):
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise self._one_line(e, data) from None

    @classmethod
    def model_validate(cls, obj: Any, *args: Any, **kwargs: Any):
        try:
            return super().model_validate(obj, *args, **kwargs)
        except ValidationError as e:
            raise cls._one_line(e, obj if isinstance(obj, dict) else {}) from None

    @classmethod
    def spec_label(cls, data: dict[str, Any]) -> str:
        """How an error names the object: `Source('web')` when it has a name, else the class name."""
        name = data.get("name") if "name" in cls.model_fields else None
        return f"{cls.__name__}({name!r})" if isinstance(name, str) else cls.__name__

    @classmethod
    def error_line(cls, field: str, reason: str, more: str, data: dict[str, Any]) -> str:
        return " ".join(f"{cls.spec_label(data)}{'.' + field if field else ''}: {reason}{more}".split())

    @classmethod
    def _one_line(cls, e: ValidationError, data: dict[str, Any]) -> SpecError:
        errors = e.errors()
        if not errors:
            field, reason = "", " ".join(str(e).split())
        else:
            field = ".".join(str(p) for p in errors[0].get("loc", ()))
            reason = field_reason(errors[0])
            # pydantic runs a nested spec's own __init__ (a dict given for a spec field, or
            # `model_validate`): its error already says what is wrong; only its path is prefixed.
            inner = (errors[0].get("ctx") or {}).get("error")
            if isinstance(inner, SpecError) and hasattr(inner, "field"):
                field, reason = ".".join(p for p in (field, inner.field) if p), inner.reason
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        err = cls.error_class(cls.error_line(field, reason, more, data))
        err.field, err.reason = field, reason  # the parts, for callers that name the object their own way
        return err
