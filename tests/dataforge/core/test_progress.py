"""Progress columns: counts in the unit of the work, an average rate and an ETA that follows from it."""

from rich.console import Console

from dataforge.core.progress import unit_progress


def _line(bar) -> str:
    console = Console(width=200, record=True)
    console.print(bar.make_tasks_table(bar.tasks))
    return console.export_text()


def test_a_bar_shows_done_total_unit_rate_and_eta():
    bar = unit_progress(Console(file=open("/dev/null", "w")))
    task = bar.add_task("writing shards", total=3150, unit="tokens")
    t = bar.tasks[0]
    t.start_time = bar.get_time() - 10.0  # ten seconds in
    bar.update(task, completed=1050)
    line = _line(bar)
    assert "1,050/3,150 tokens" in line and "105 tokens/s" in line and "ETA 0:00:20" in line
    bar.update(task, completed=3150)
    assert "done" in _line(bar)


def test_slow_work_is_per_minute_and_unknown_totals_have_no_eta():
    bar = unit_progress(Console(file=open("/dev/null", "w")))
    task = bar.add_task("generate", total=None, unit="walks")
    bar.tasks[0].start_time = bar.get_time() - 60.0
    bar.update(task, completed=30)
    line = _line(bar)
    assert "30 walks" in line and "30.0 walks/min" in line and "ETA -" in line
