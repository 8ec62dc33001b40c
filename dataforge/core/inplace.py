"""Outputs written in place, file by file, over a long time: a training run dir, the demo's dir.

They cannot be committed with one rename, so the verb claims the directory instead: it is created
with a marker (`.forge-output.json`, naming its kind) before anything else is written in it, and it
is locked while the verb runs. A later run may continue it (`--resume`, or the demo rerunning its
steps with `--overwrite`) or replace it (`--overwrite`: the old one is renamed away at the start and
deleted once the new run ends well); anything the engine did not write is refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from dataforge.core.commit import atomic_write_json, sweep_stale, tmp_sibling
from dataforge.core.errors import ForgeError
from dataforge.core.lock import OutputLock
from dataforge.core.outputs import MARKER, check_not_input, inspect_output, preflight


class InPlaceClaim:
    """A directory a verb writes in place.

    Args:
        out: the directory.
        kind: what it holds ("run", "demo").
        keep: an existing `kind` output is continued in place (resume).
        overwrite: an existing `kind` output is replaced by a fresh one (when not `keep`).
        hint: the end of the refusal when it holds a `kind` output and neither is given.
    Example:
        claim = InPlaceClaim(out, "run", keep=resume, overwrite=overwrite, hint="pass --resume ...")
        claim.check()           # read-only, to refuse before anything costly starts
        with claim.acquire():   # checks again under the lock
            train(out)
    """

    def __init__(self, out: str | Path, kind: str, *, keep: bool = False, overwrite: bool = False,
                 hint: str = "pass --overwrite to replace it or choose another --out", label: str = "--out"):
        self.out, self.kind, self.keep, self.overwrite = Path(out).expanduser().absolute(), kind, keep, overwrite
        self.hint, self.label = hint, label
        self.lock: OutputLock | None = None
        self.old: Path | None = None

    def check(self, check_lock: bool = True) -> bool:
        """Refuse what may not be written (read-only); True when `out` holds an output of this kind."""
        found = inspect_output(self.out, self.kind, self.label)
        if found.kind is not None and not (self.keep or self.overwrite):
            raise ForgeError(f"{self.label} {self.out}: already holds a {self.kind} output; {self.hint}")
        preflight(self.out, self.kind, overwrite=True, label=self.label, check_lock=check_lock)
        return found.kind is not None

    def check_inputs(self, inputs: list[str | Path]) -> None:
        check_not_input(self.out, inputs, self.label)

    def acquire(self) -> InPlaceClaim:
        """Lock, check again under the lock, move a replaced output away, create the dir and its marker."""
        self.lock = OutputLock(self.out, self.kind).acquire()
        try:
            sweep_stale(self.out, locked=True)  # e.g. what a failed --overwrite run had moved away
            if self.check(check_lock=False) and not self.keep:
                self.old = tmp_sibling(self.out, "old")
                self.out.rename(self.old)
            self.out.mkdir(parents=True, exist_ok=True)
            if not (self.out / MARKER).is_file():
                atomic_write_json(self.out / MARKER, {"kind": self.kind})
        except BaseException:
            self.release(ok=False)
            raise
        return self

    def release(self, ok: bool = True) -> None:
        """Unlock; once the run ended well, delete the output it replaced (idempotent)."""
        if ok and self.old is not None:
            shutil.rmtree(self.old, ignore_errors=True)
            self.old = None
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def __enter__(self) -> InPlaceClaim:
        return self if self.lock is not None else self.acquire()

    def __exit__(self, exc_type, *exc) -> None:
        self.release(ok=exc_type is None)
