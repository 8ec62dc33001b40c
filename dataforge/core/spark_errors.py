"""One line on the driver for a failure inside a Spark task.

When Python code fails in an executor, the driver gets a PySpark exception whose text holds the
worker's Python traceback (and, for some paths, the Java stack around it). The last exception line
of that traceback is what the user needs: a `ForgeError` raised in a task (a server that answers 500
after its retries, a bad API key, an unreachable host) is re-raised on the driver as the same
`ForgeError`, so the CLI prints its one line and exits 2; anything else becomes one line naming the
exception type. `forge --debug` still prints the full traceback.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from dataforge.core.errors import ForgeError
from dataforge.core.secrets import redact_text

TRACEBACK = "Traceback (most recent call last):"
_EXC_LINE = re.compile(r"^([A-Za-z_][\w.]*): ?(.*)$")
_JAVA_EXC = re.compile(r"\b([a-z][\w$]*(?:\.[\w$]+)+(?:Exception|Error)): (.+)")
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\s*$")


class SparkTaskError(Exception):
    """An unexpected exception inside a Spark task, reduced to one line (the CLI exits 1 on it)."""


def _from_spark(e: BaseException) -> bool:
    mod = type(e).__module__ or ""
    return mod.startswith(("pyspark", "py4j"))


def task_exception(text: str) -> tuple[str, str] | None:
    """(exception type, message) of the last Python traceback in a Spark error text, or None."""
    at = text.rfind(TRACEBACK)
    if at < 0:
        return None
    lines = text[at + len(TRACEBACK):].splitlines()
    for i, line in enumerate(lines):
        if not line.strip() or line.startswith((" ", "\t")):
            continue  # frames and source lines are indented
        m = _EXC_LINE.match(line)
        if m is None:
            return line.strip(), ""
        message = [m.group(2)]
        for more in lines[i + 1:]:  # a multi-line message ends where the Java stack starts
            if not more.strip() or more.startswith("\tat ") or more.startswith(("Driver stacktrace", "\t")):
                break
            message.append(more.strip())
        return m.group(1), _SQLSTATE.sub("", " ".join(message)).strip()
    return None


def _java_cause(e: BaseException) -> str:
    """`SparkException: Job aborted ...` from a JVM error text (its first `...Exception: ` line)."""
    for line in str(e).splitlines():
        m = _JAVA_EXC.search(line)
        if m:
            return f"{m.group(1).rpartition('.')[2]}: {m.group(2).strip()}"
    lines = str(e).strip().splitlines()
    return lines[0] if lines else type(e).__name__


def _is_forge_error(qualname: str) -> bool:
    # Only classes already imported here are looked up: the name comes from text, never imported.
    mod, _, name = qualname.rpartition(".")
    cls = getattr(sys.modules.get(mod or "builtins"), name, None)
    return isinstance(cls, type) and issubclass(cls, ForgeError)


def spark_failure(e: BaseException) -> ForgeError | SparkTaskError | None:
    """The one-line error for a failed Spark job (`e` or an exception it chains from), or None."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if _from_spark(cur):
            found = task_exception(str(cur))
            if found is not None:
                qualname, message = found
                message = redact_text(message)
                if _is_forge_error(qualname):
                    return ForgeError(message)
                short = qualname.rpartition(".")[2]
                return SparkTaskError(f"{short}: {message} in a Spark task "
                                      "(rerun with --debug for the traceback)")
            return SparkTaskError(f"Spark job failed: {redact_text(_java_cause(cur))[:300]} "
                                  "(rerun with --debug for the traceback)")
        cur = cur.__cause__ or cur.__context__
    return None


@contextmanager
def spark_errors() -> Iterator[None]:
    """Re-raise a Spark job failure as its one-line error (chained to the original for --debug)."""
    try:
        yield
    except ForgeError:
        raise
    except Exception as e:
        translated = spark_failure(e)
        if translated is None:
            raise
        raise translated from e
