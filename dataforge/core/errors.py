"""User-facing errors.

A `ForgeError` carries one line that names the file, field or record at fault and says what to do.
The CLI prints it without a traceback (unless `--debug`) and exits 2.
"""

from __future__ import annotations


class ForgeError(Exception):
    """An error the user can fix: bad spec, missing input, unknown field, model not found."""


class SpecError(ForgeError):
    """A spec module failed to import or does not define what the command needs."""


# pydantic's bound errors, said the way the rest of the CLI says them: "must be >= 1 (got 0)"
_BOUNDS = {"greater_than": ("gt", ">"), "greater_than_equal": ("ge", ">="), "less_than": ("lt", "<"),
           "less_than_equal": ("le", "<=")}


def field_reason(error: dict) -> str:
    """What is wrong with one field, short; bounds as `must be >= 1`, the value shown as `(got ...)`."""
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind in _BOUNDS and _BOUNDS[kind][0] in ctx:
        key, op = _BOUNDS[kind]
        msg = f"must be {op} {ctx[key]}"
    elif kind == "finite_number":
        msg = "must be a finite number"
    else:
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if kind in ("value_error", "missing", "extra_forbidden") or "input" not in error:
        return msg
    shown = repr(error["input"])
    return f"{msg} (got {shown[:60]}{'...' if len(shown) > 60 else ''})"


def validation_line(e, title: str | None = None) -> str:
    """One line for a pydantic `ValidationError`: the model and field at fault, what is wrong, the value.

    `title` names the object (default: the model pydantic names). Example:
    `Sampling.max_tokens: must be >= 1 (got 0)`.
    """
    errors = e.errors()
    head = title or e.title
    if not errors:
        return f"{head}: {' '.join(str(e).split())}"
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return " ".join(f"{head}{'.' + loc if loc else ''}: {field_reason(first)}{more}".split())


def one_line(e: BaseException) -> str:
    """`Type: message` of any exception on one line (pydantic errors name the field; secrets scrubbed)."""
    from pydantic import ValidationError

    from dataforge.core.secrets import redact_text

    if isinstance(e, ValidationError):
        text = validation_line(e)
    elif isinstance(e, SystemExit):
        text = f"SystemExit: exit({'' if e.code is None else repr(e.code)}) was called"
    else:
        text = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    return redact_text(" ".join(text.split()))
