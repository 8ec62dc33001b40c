"""An exclusive lock per output directory that works on a shared filesystem (NFS included).

The lock is a file beside the output, `.NAME.lock`, created with O_CREAT|O_EXCL (atomic on local
filesystems and on NFSv3+), holding JSON: host, pid, the pid's start time, the verb and since when.
While the run lives a thread touches the file's mtime every `HEARTBEAT_S` seconds.

A lock is stale (and is taken over) when:
- it was taken on this host and its pid is dead (or is now another process: the start time differs);
- it was taken on another host and its heartbeat is older than `STALE_AFTER_S` (default 300 s, set
  `FORGE_LOCK_STALE_S`): a run on another machine cannot be asked whether it lives, only heard.

A second run on a locked output is refused with one line naming the holder. The lock is released
on exit, also on error; a SIGKILLed run leaves its lock behind, which the next run takes over.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from dataforge.core.errors import ForgeError

HEARTBEAT_S = 15.0
STALE_AFTER_S = float(os.environ.get("FORGE_LOCK_STALE_S", "300"))  # >> HEARTBEAT_S: NFS mtimes lag


def this_host() -> str:
    return socket.gethostname()


def pid_start(pid: int) -> str | None:
    """The start time of `pid` in clock ticks since boot (Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()[19]  # field 22 of proc(5); the command name may hold spaces


def pid_alive(pid: int, start: str | None = None) -> bool:
    """Whether `pid` runs on this host (and, when `start` is known, is still the same process)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    now = pid_start(pid)
    return start is None or now is None or now == start


def lock_path(final: str | Path) -> Path:
    final = Path(final).absolute()
    return final.parent / f".{final.name}.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its file says."""

    host: str
    pid: int
    since: str
    verb: str
    token: str
    start: str | None
    mtime: float

    def describe(self) -> str:
        return f"forge {self.verb}, pid {self.pid} on {self.host}, since {self.since}"

    def is_stale(self) -> bool:
        if self.host == this_host():
            return not pid_alive(self.pid, self.start)
        return time.time() - self.mtime > STALE_AFTER_S


def read_holder(path: Path) -> Holder | None:
    """The holder of the lock file `path`; None when there is no lock file."""
    try:
        mtime = path.stat().st_mtime
        raw = json.loads(path.read_text("utf-8"))
        return Holder(str(raw["host"]), int(raw["pid"]), str(raw["since"]), str(raw["verb"]), str(raw["token"]),
                      raw.get("start"), mtime)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        # Created but not yet written (or cut short by a crash): judged by its age alone.
        return Holder("?", -1, "?", "?", "", None, mtime)


class OutputLock:
    """The exclusive lock of one output directory.

    Args:
        final: the output directory (it need not exist).
        verb: what holds it (generate, curate, train...), shown to a refused second run.
    Example:
        with OutputLock(out, "curate"):
            ...  # nobody else writes `out` meanwhile
    """

    def __init__(self, final: str | Path, verb: str):
        self.final, self.verb = Path(final).absolute(), verb
        self.path = lock_path(self.final)
        self.token = uuid.uuid4().hex
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @property
    def held(self) -> bool:
        return self._beat is not None

    def acquire(self, wait_s: float = 0.0) -> OutputLock:
        """Take the lock, taking over a stale one; waits up to `wait_s` for a live holder, then refuses."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + wait_s
        while not self._create():
            holder = read_holder(self.path)
            if holder is None:
                continue  # released meanwhile
            if holder.is_stale():
                _take_over(self.path, holder)
                continue
            if time.monotonic() >= deadline:
                raise busy_error(self.final, holder)
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        self._stop.clear()
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock {self.final.name}", daemon=True)
        self._beat.start()
        atexit.register(self.release)
        return self

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        since = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        body = {"host": this_host(), "pid": os.getpid(), "start": pid_start(os.getpid()), "since": since,
                "verb": self.verb, "out": str(self.final), "token": self.token}
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(body, f)
            f.flush()
            os.fsync(f.fileno())
        return True

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                if self.owns():
                    os.utime(self.path)

    def owns(self) -> bool:
        """Whether the lock file on disk is still this lock's."""
        holder = read_holder(self.path)
        return holder is not None and holder.token == self.token

    def release(self) -> None:
        """Stop the heartbeat and remove the lock file if it is still ours (idempotent)."""
        if self._beat is None:
            return
        self._stop.set()
        self._beat = None
        atexit.unregister(self.release)
        if self.owns():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self) -> OutputLock:
        return self if self.held else self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _take_over(path: Path, stale: Holder) -> None:
    """Remove a stale lock file, but only the one judged stale: a fresh lock that slipped in between
    the read and the rename is put back (link fails rather than replace a third lock)."""
    grave = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, grave)
    except FileNotFoundError:
        return
    moved = read_holder(grave)
    if moved is not None and moved.token != stale.token:
        with contextlib.suppress(FileExistsError):
            os.link(grave, path)
    grave.unlink(missing_ok=True)


def held_by(final: str | Path) -> Holder | None:
    """The live holder of `final`'s lock, or None when it is free or stale (read-only: takes nothing)."""
    holder = read_holder(lock_path(final))
    return None if holder is None or holder.is_stale() else holder


def busy_error(final: str | Path, holder: Holder, label: str = "") -> ForgeError:
    return ForgeError(f"{label + ' ' if label else ''}{final}: in use by {holder.describe()}; wait for it to finish or choose another output "
                      f"(lock {lock_path(final)}; it goes stale once that pid is gone, or {STALE_AFTER_S:.0f} s "
                      "after its last heartbeat when taken on another host)")
