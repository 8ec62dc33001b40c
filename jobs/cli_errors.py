"""How the CLI reports a failure: one line on stderr and an exit status, a traceback only with --debug.

    forge: error: <what is wrong, naming the file, field, record or URL, and what to do>

Status 2: something the user can fix (a `ForgeError`, a usage error, a bad spec value, a
`ForgeError` raised inside a Spark task); 1: an unexpected crash (still one line); 130: interrupted.
A usage error also prints the command's usage line. Every line is redacted: no API key, `user:pass@`
or `?api_key=` reaches the terminal.
"""

from __future__ import annotations

import sys
import traceback

import click
import typer
from pydantic import ValidationError
from rich.console import Console

from dataforge.core.errors import ForgeError, one_line, validation_line
from dataforge.core.secrets import redact_text
from dataforge.core.spark_errors import SparkTaskError, spark_failure

err = Console(stderr=True)
# typer vendors its own copy of click; a command can raise either family.
CLICK_ERRORS = (click.ClickException, typer.TyperException)


def say(line: str) -> None:
    err.print(f"forge: error: {redact_text(' '.join(line.split()))}", markup=False, highlight=False,
              soft_wrap=True)


def _usage_error(e: Exception) -> int:
    ctx = getattr(e, "ctx", None)
    message = e.format_message() if hasattr(e, "format_message") else str(e)
    if type(e).__name__ == "NoArgsIsHelpError":  # `forge mix`: the help is the answer
        err.print(message, markup=False, highlight=False, soft_wrap=True)
        return getattr(e, "exit_code", 2)
    if ctx is not None:
        err.print(ctx.get_usage(), markup=False, highlight=False, soft_wrap=True)
        err.print(f"Try '{ctx.command_path} --help' for help.", markup=False, highlight=False, soft_wrap=True)
    say(message)
    return getattr(e, "exit_code", 2) or 2


def report(e: BaseException, debug: bool) -> int:
    """Print `e` the CLI way and return the exit status."""
    if isinstance(e, (KeyboardInterrupt, click.exceptions.Abort, typer.Abort)):
        err.print("forge: interrupted")
        return 130
    if isinstance(e, CLICK_ERRORS):
        return _usage_error(e)
    if debug:  # source lines of a spec may hold a key: the traceback is redacted too
        sys.stderr.write(redact_text("".join(traceback.format_exception(e))))
    if isinstance(e, ForgeError):
        say(str(e))
        return 2
    if isinstance(e, ValidationError):  # a spec object built with a bad value: name the field
        say(f"{validation_line(e)}; fix the value in the spec or the option")
        return 2
    if isinstance(e, SystemExit):
        say(f"{one_line(e)} during the run; a spec must not call exit()")
        return 2
    found = spark_failure(e)
    if isinstance(found, ForgeError):
        say(str(found))
        return 2
    if isinstance(found, SparkTaskError):
        say(str(found))
        return 1
    say(f"{one_line(e)} (rerun with --debug for the traceback)")
    return 1
