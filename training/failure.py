"""One error line for a whole multi-rank launch, and no rank left hanging.

When one rank fails, the others are usually blocked waiting for it (in a collective, or in the
store while DeepSpeed makes a new group); when every rank fails the same way (a bad spec), each
would print the same line. So the ranks share a small protocol over the launch's TCP store (on
MASTER_ADDR:MASTER_PORT, through their own client connection so a blocked collective cannot hold it):

1. a failing rank posts its message (the first one posted wins: the cause, not what it provokes);
2. rank 0 prints the first message (`forge: error: rank N: ...` when another rank posted it) and
   marks it printed: from its failing main thread, or from a watcher thread (`watch`) that wakes on
   the post while the main thread is blocked, and then ends the process;
3. any other rank waits for the mark and exits quietly, or prints its own line if rank 0 has not
   answered in `WAIT_S` seconds.

Every rank exits 2. An error every rank raises at the same point (`CollectiveError`: a decision on
all-reduced values) is posted and printed by rank 0 only. Without a store (a single process, or peers
already gone) a rank prints only when it is rank 0.
"""

from __future__ import annotations

import os
import sys
from datetime import timedelta

from dataforge.core.errors import ForgeError

FIRST, PRINTED = "forge/first_error", "forge/error_printed"
WAIT_S = 60.0


class CollectiveError(ForgeError):
    """An error every rank raises at the same point from identical values (no rank is left waiting)."""


def one_line(e: BaseException) -> str:
    if isinstance(e, ForgeError):
        return str(e)
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:500]} (rerun with --debug for the traceback)"


def multi_rank() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def _say(line: str) -> None:
    print(f"forge: error: {line}", file=sys.stderr, flush=True)


def _client():
    """A client of the launch's TCP store of its own (the process group's client may be blocked)."""
    import torch.distributed as dist

    return dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), is_master=False,
                         timeout=timedelta(seconds=WAIT_S), wait_for_workers=False)


def _claim_and_say(store, rank: int, line: str) -> None:
    if store.compare_set(PRINTED, "", str(rank)).decode() == str(rank):
        _say(line)


def watch(rank: int) -> None:
    """Start the thread that ends this rank when another rank posts a failure (multi-rank runs)."""
    import threading

    def run() -> None:
        try:
            store = _client()
            while True:
                try:
                    store.wait([FIRST], timedelta(hours=24))
                    break
                except Exception:  # noqa: BLE001 - a timeout: keep watching; a closed store: the run ended
                    if not _alive(store):
                        return
            by, msg = store.get(FIRST).decode().split("\t", 1)
            if int(by) == rank:
                return  # this rank's main thread reports its own failure
            if rank == 0:
                _claim_and_say(store, rank, f"rank {by}: {msg}")
            else:
                store.wait([PRINTED], timedelta(seconds=WAIT_S))
        except Exception:  # noqa: BLE001 - rank 0 (the store) is gone: it printed, or its launcher reports
            pass
        os._exit(2)

    threading.Thread(target=run, name="forge-failure-watch", daemon=True).start()


def _alive(store) -> bool:
    try:
        store.check([FIRST])
        return True
    except Exception:  # noqa: BLE001
        return False


def report(e: BaseException) -> None:
    """Print at most one `forge: error:` line for the launch on behalf of this rank's failure `e`."""
    import torch.distributed as dist

    rank, line = int(os.environ.get("RANK", "0")), one_line(e)
    try:
        if not dist.is_initialized():  # failed before joining: join, so rank 0 serves the store
            from training.distributed import init_world

            init_world()
        store = _client()
        if isinstance(e, CollectiveError) and rank != 0:
            store.wait([PRINTED], timedelta(seconds=WAIT_S))  # rank 0 raised the same; it prints
            return
        first = store.compare_set(FIRST, "", f"{rank}\t{line}").decode()
    except Exception:  # noqa: BLE001 - no store: the peers (rank 0 among them) are gone or never came
        if rank == 0:
            _say(line)
        return
    if rank == 0:
        by, msg = first.split("\t", 1)
        _claim_and_say(store, rank, line if by == "0" or msg == line else f"rank {by}: {msg}")
        return
    try:
        store.wait([PRINTED], timedelta(seconds=WAIT_S))
        return
    except Exception:  # noqa: BLE001 - timed out (rank 0 busy), or rank 0 exited after printing
        pass
    try:
        _claim_and_say(store, rank, f"rank {rank}: {line}")
    except Exception:  # noqa: BLE001 - rank 0 is gone: it printed, or a launcher reports its death
        pass


def exit_now(code: int) -> None:
    """End a failed rank without tearing down its process group: a gloo group destroyed while a peer
    is gone or still sending can abort the process ("terminate called without an active exception",
    SIGABRT) after the error line was printed. Python's exit hooks (lock release) still run."""
    import atexit

    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
