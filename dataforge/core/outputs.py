"""Claiming an output before a verb does any work: a verb writes only into what it creates (or what
`--overwrite` names), under a lock, and commits atomically.

What an output path may hold when a verb starts (checked before Spark starts, so a refusal touches
nothing):
- nothing, or an empty directory: the run proceeds;
- a committed output of the same verb (its manifest.json `kind`): the run proceeds when it may give
  the same result (the verb's config matches the manifest's) or with `--overwrite`. At the commit, a
  result with the same id as what is there replaces nothing (a no-op); a different id replaces it only
  with `--overwrite` (rename the old one away, rename the new one in, delete the old one);
- anything else (a file, a directory the engine did not write, another verb's output): refused, also
  with `--overwrite`.
An output equal to, inside, or containing an input is refused too.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataforge.core.commit import atomic_dir
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json
from dataforge.core.lock import OutputLock, busy_error, held_by
from dataforge.core.manifest import MANIFEST, Manifest

MARKER = ".forge-output.json"  # names the kind of a directory written in place (run dir, demo dir)


def output_kind(path: Path) -> str | None:
    """The kind of engine output `path` holds (its manifest's, else its marker's), None when none."""
    if (path / MANIFEST).is_file():
        try:
            return Manifest.read(path).kind
        except ForgeError:
            return None
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        return str(json.loads((path / MARKER).read_text("utf-8"))["kind"])
    if (path / "run.json").is_file():  # run dirs written before the marker existed
        return "run"
    return None


def check_not_input(out: Path, inputs: Iterable[str | Path], label: str = "--out") -> None:
    """Refuse an output equal to, inside, or containing an input (local paths, symlinks resolved)."""
    o = Path(out).expanduser().resolve()
    for raw in inputs:
        s = str(raw)
        if "://" in s:
            if not s.startswith("file://"):
                continue  # hdfs://, s3a://: never where outputs are written
            s = s[len("file://"):]
        i = Path(s).expanduser().resolve()
        why = ("is the input" if o == i else "is inside the input" if o.is_relative_to(i)
               else "contains the input" if i.is_relative_to(o) else None)
        if why:
            raise ForgeError(f"{label} {out}: {why} {raw}; writing it could destroy what the run reads; "
                             f"choose an {label} outside the inputs")


@dataclass(frozen=True)
class Found:
    """What an output path holds: nothing (kind None) or an output of the verb's own kind."""

    path: Path
    kind: str | None
    manifest: Manifest | None


def inspect_output(out: Path, kind: str, label: str = "--out") -> Found:
    """Classify `out` for a verb writing `kind`; refuses what is not the verb's to replace."""
    if not out.exists() and not out.is_symlink():
        return Found(out, None, None)
    if not out.is_dir():
        raise ForgeError(f"{label} {out}: is a file, not a directory; nothing was touched; "
                         f"choose a new directory for {label}")
    if not any(out.iterdir()):
        return Found(out, None, None)
    found = output_kind(out)
    if found is None:
        raise ForgeError(f"{label} {out}: holds files the engine did not write; nothing was touched "
                         f"(--overwrite never replaces them); choose a new or empty directory for {label}")
    if found != kind:
        raise ForgeError(f"{label} {out}: holds a {found} output, not a {kind} one; nothing was touched "
                         f"(--overwrite never replaces another verb's output); choose another {label}")
    return Found(out, found, Manifest.read(out) if (out / MANIFEST).is_file() else None)


def _same_config(have: dict[str, Any], want: dict[str, Any]) -> bool:
    """Every key of `want` (the config, or the part of it known before the work) has the same value."""
    return all(k in have and canonical_json(have[k]) == canonical_json(v) for k, v in want.items())


def preflight(out: str | Path, kind: str, *, overwrite: bool = False, inputs: Iterable[str | Path] = (),
              config: dict[str, Any] | None = None, label: str = "--out", check_lock: bool = True) -> Found:
    """Every check of `claim_output`, read-only: call it before starting Spark to fail in a second."""
    out = Path(out).expanduser().absolute()
    check_not_input(out, inputs, label)
    found = inspect_output(out, kind, label)
    m = found.manifest
    if m is not None and not overwrite and (config is None or not _same_config(m.config, config)):
        raise ForgeError(f"{label} {out}: holds {kind} output {m.id} made with another config; pass --overwrite "
                         f"to replace it or choose another {label}")
    holder = held_by(out) if check_lock else None
    if holder is not None:
        raise busy_error(out, holder, label)
    return found


class Claim:
    """An output a verb holds: locked and checked; `atomic_dir()` commits to it by the rules above."""

    def __init__(self, found: Found, overwrite: bool, label: str):
        self.path, self.found, self.overwrite, self.label = found.path, found, overwrite, label
        self.replaced = False  # set at the commit: an older output was replaced
        self.unchanged = False  # set at the commit: the result had the id already there (a no-op)

    @property
    def existing(self) -> Manifest | None:
        return self.found.manifest

    @contextlib.contextmanager
    def atomic_dir(self) -> Iterator[Path]:
        """A temp dir that becomes the output once the block (which writes manifest.json last) ends."""
        with atomic_dir(self.path, replace=True, locked=True, check=self._should_commit) as tmp:
            yield tmp

    def _should_commit(self, tmp: Path) -> bool:
        old = self.found.manifest
        if old is None:
            return True
        new = Manifest.read(tmp).id
        if new == old.id:
            self.unchanged = True
            return False
        if not self.overwrite:
            raise ForgeError(f"{self.label} {self.path}: holds {old.kind} output {old.id}, this run made {new}; "
                             f"nothing was replaced; pass --overwrite to replace it or choose another {self.label}")
        self.replaced = True
        return True


@contextlib.contextmanager
def claim_output(out: str | Path, kind: str, *, verb: str | None = None, overwrite: bool = False,
                 inputs: Iterable[str | Path] = (), config: dict[str, Any] | None = None,
                 label: str = "--out") -> Iterator[Claim]:
    """Check and lock `out` for a verb writing a `kind` output; the lock is released on exit.

    Args:
        verb: shown to a second run refused by the lock (default: `kind`).
        inputs: local paths the run reads; `out` may not overlap them.
        config: the manifest config the run will write (or the part of it known before the work): an
            existing output with the same values may be rerun without `--overwrite` (same id: a no-op).
    Example:
        with claim_output(out, "curated", overwrite=False, inputs=paths) as claim:
            with claim.atomic_dir() as tmp:
                write(tmp); manifest.write(tmp)
    """
    inputs = list(inputs)
    kw = {"overwrite": overwrite, "inputs": inputs, "config": config, "label": label}
    preflight(out, kind, **kw)
    lock = OutputLock(Path(out).expanduser().absolute(), verb or kind).acquire()
    try:
        # again under the lock: another run may have committed between the first look and the lock
        found = preflight(out, kind, check_lock=False, **kw)
        yield Claim(found, overwrite, label)
    finally:
        lock.release()
