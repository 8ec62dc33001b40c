"""Progress bars in the unit of the work (walks, records, tokens) with rate and ETA, on stderr.

    with unit_progress() as bar:
        task = bar.add_task("tokenizing", total=n, unit="tokens")
        bar.update(task, completed=k)

Every verb draws its bars with these columns, so they all read the same way:
`tokenizing ━━━━━━━━━━━━  1,024/3,150 tokens  412 tokens/s  ETA 0:00:05  0:00:02`. The rate and ETA
come from the average since the step began (steadier than a windowed speed for bursty LLM work). Spark's task progress can be read
into a bar with `spark_tasks` (driver-side polling; no executor cooperation needed).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text


def _num(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 or float(x).is_integer() else f"{x:,.1f}"


class CountColumn(ProgressColumn):
    """`done/total unit` (or `done unit` while the total is unknown)."""

    def render(self, task: Task) -> Text:
        unit = task.fields.get("unit", "")
        total = f"/{_num(task.total)}" if task.total is not None else ""
        return Text(f"{_num(task.completed)}{total} {unit}".rstrip(), style="progress.download")


def _rate(task: Task) -> float | None:
    """Units per second since the task started: bursty work (a batch of LLM calls finishing at once)
    makes a windowed speed swing wildly; the average does not."""
    elapsed = task.finished_time if task.finished else task.elapsed
    return task.completed / elapsed if elapsed and task.completed else None


class RateColumn(ProgressColumn):
    """`12.5 walks/s`; per minute when slower than one a second (LLM walks on CPU)."""

    def render(self, task: Task) -> Text:
        unit, speed = task.fields.get("unit", ""), _rate(task)
        if not speed:
            return Text(f"- {unit}/s", style="progress.data.speed")
        if speed < 1:
            return Text(f"{speed * 60:.1f} {unit}/min", style="progress.data.speed")
        return Text(f"{_num(speed)} {unit}/s", style="progress.data.speed")


class EtaColumn(ProgressColumn):
    """`ETA 0:01:20` from the average rate; `ETA -` until there is one or while the total is unknown."""

    def render(self, task: Task) -> Text:
        speed = _rate(task)
        if task.finished:
            return Text("done", style="progress.remaining")
        if not speed or task.total is None:
            return Text("ETA -", style="progress.remaining")
        left = int(max(0.0, task.total - task.completed) / speed)
        return Text(f"ETA {left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}", style="progress.remaining")


def unit_progress(console: Console | None = None, transient: bool = False) -> Progress:
    """A rich Progress with: spinner, description, bar, done/total unit, rate, ETA, elapsed."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), CountColumn(), RateColumn(),
                    EtaColumn(), TimeElapsedColumn(),
                    console=console or Console(stderr=True), transient=transient)


@contextmanager
def spark_tasks(spark, report: Callable[[int, int], None], every: float = 0.5) -> Iterator[None]:
    """Call `report(finished, total)` tasks of the running Spark stages while the block runs."""
    tracker, stop = spark.sparkContext.statusTracker(), threading.Event()

    def poll() -> None:
        while not stop.wait(every):
            stages = [tracker.getStageInfo(i) for i in tracker.getActiveStageIds()]
            total = sum(s.numTasks for s in stages if s)
            if total:
                report(sum(s.numCompletedTasks for s in stages if s), total)

    thread = threading.Thread(target=poll, name="forge-spark-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
