"""Live generation progress: executors report finished walk steps and LLM calls to the driver.

Spark tells the driver only when a whole partition ends (a partition holds many walks and runs for
minutes), so each partition sends a small UDP datagram to a listener on the driver at most twice a
second: `[partition, steps done, model calls, cache hits]`, absolute values, so a lost or repeated
datagram (or a retried task) never double counts. Best effort by design: a datagram that does not
arrive only delays the bar, and nothing else depends on it.

Walks run in lockstep node by node, so a walk finishes only at the end of its round; the bar counts
walks as the share of planned walk steps done (a dropped walk's remaining steps count when its
partition ends), which moves evenly and reaches the total exactly.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable

from dataforge.core.progress import unit_progress


class WalkProgress:
    """The driver side: a rich bar of walks (with rate and ETA) and LLM calls, fed by executors."""

    def __init__(self, host: str, walks: int, steps: int):
        self.walks, self.steps = walks, max(1, steps)
        self.parts: dict[int, tuple[int, int, int]] = {}
        self.stop = threading.Event()
        self.sock: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.bind((host, 0))
            self.sock.settimeout(0.2)
            self.address: tuple[str, int] | None = self.sock.getsockname()[:2]
        except OSError:  # no listener: the bar then moves when partitions end
            self.sock.close()
            self.sock, self.address = None, None
        self.bar = unit_progress()
        self.task = self.bar.add_task("generate", total=walks, unit="walks")
        self.thread = threading.Thread(target=self._listen, name="forge-walk-progress", daemon=True)

    def __enter__(self) -> WalkProgress:
        self.bar.start()
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        if self.sock is not None:
            self.sock.close()
        if exc[0] is None:
            self.bar.update(self.task, completed=self.walks)
        self.bar.stop()

    def _listen(self) -> None:
        while not self.stop.is_set():
            if self.sock is None:
                time.sleep(0.2)
                continue
            try:
                index, steps, calls, hits = json.loads(self.sock.recv(512))
                self.parts[int(index)] = (int(steps), int(calls), int(hits))
            except (TimeoutError, ValueError, TypeError, OSError):
                continue
            self._draw()

    def _draw(self) -> None:
        steps, calls, hits = (sum(v[i] for v in self.parts.values()) for i in range(3))
        self.bar.update(self.task, completed=min(self.walks, self.walks * steps / self.steps),
                        description=f"generate ({calls:,} LLM calls, {hits:,} from the cache)")


def reporter(address: tuple[str, int] | None, index: int, every: float = 0.5) -> Callable[..., None]:
    """The executor side: `send(steps, calls, hits, final=False)`, rate-limited, never raising."""
    if address is None:
        return lambda *a, **k: None
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    last = [0.0]

    def send(steps: int, calls: int, hits: int, final: bool = False) -> None:
        now = time.monotonic()
        if not final and now - last[0] < every:
            return
        last[0] = now
        try:
            sock.sendto(json.dumps([index, steps, calls, hits]).encode(), address)
        except OSError:
            pass
        if final:
            sock.close()

    return send
