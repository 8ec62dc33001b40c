"""Live walk progress: executor reports reach the driver's bar over loopback UDP, in walks, never double counted."""

import time

from dataforge.walk_progress import WalkProgress, reporter


def _wait(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.05)
    return cond()


def test_reports_from_partitions_move_the_bar_in_walks_and_a_retry_does_not_double_count():
    with WalkProgress("127.0.0.1", walks=10, steps=30) as bar:
        assert bar.address is not None
        task = bar.bar.tasks[0]
        assert task.total == 10 and task.fields["unit"] == "walks"
        a, b = reporter(bar.address, 0, every=0.0), reporter(bar.address, 1, every=0.0)
        a(6, 4, 2)
        b(3, 3, 0)
        assert _wait(lambda: abs(task.completed - 3.0) < 1e-9)   # 9 of 30 steps = 3 of 10 walks
        assert "7 LLM calls, 2 from the cache" in task.description
        again = reporter(bar.address, 0, every=0.0)                # partition 0 retried from scratch
        again(3, 1, 0)
        assert _wait(lambda: abs(task.completed - 2.0) < 1e-9)
        again(15, 5, 0, final=True)
        b(15, 6, 0, final=True)
        assert _wait(lambda: task.completed == 10)


def test_a_reporter_without_a_listener_is_a_no_op():
    reporter(None, 0)(1, 2, 3, final=True)
