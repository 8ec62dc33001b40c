"""User-facing errors.

A `ForgeError` carries one line that names the file, field or record at fault and says what to do.
The CLI prints it without a traceback (unless `--debug`) and exits non-zero.
"""


class ForgeError(Exception):
    """An error the user can fix: bad spec, missing input, unknown field, model not found."""


class SpecError(ForgeError):
    """A spec module failed to import or does not define what the command needs."""
