"""User-facing errors.

A `ForgeError` carries one line that names the file, field or record at fault and says what to do.
The CLI prints it without a traceback (unless `--debug`) and exits 2.
"""

from __future__ import annotations


class ForgeError(Exception):
    """An error the user can fix: bad spec, missing input, unknown field, model not found."""


class SpecError(ForgeError):
    """A spec module failed to import or does not define what the command needs."""


def validation_line(e) -> str:
    """One line for a pydantic `ValidationError`: the model and field at fault, what is wrong, the value.

    Example: `Sampling.max_tokens: Input should be greater than or equal to 1 (got 0)`.
    """
    errors = e.errors()
    if not errors:
        return str(e).splitlines()[0]
    first = errors[0]
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    got = ""
    if first.get("type") not in ("value_error", "missing") and "input" in first:
        shown = repr(first["input"])
        got = f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{e.title}{'.' + loc if loc else ''}: {msg}{got}{more}"


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
