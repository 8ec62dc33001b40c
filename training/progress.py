"""A rich progress bar over the run's tokens (rank 0 only; silent elsewhere)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class StepProgress:
    """Tokens trained out of the mixture's total, with the current step, stage and loss.

    Args:
        total_tokens: every stage's tokens.
        enabled: False on ranks other than 0.
    Example:
        with StepProgress(10_000) as p: p.update(step=1, stage="stable", loss=9.1, tokens=512)
    """

    def __init__(self, total_tokens: int, enabled: bool = True):
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]train[/] step {task.fields[step]} {task.fields[stage]}"),
            BarColumn(), MofNCompleteColumn(), TextColumn("tokens  loss {task.fields[loss]}"),
            TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled,
        )
        self.task = self.progress.add_task("train", total=total_tokens, step=0, stage="", loss="-")

    def __enter__(self) -> StepProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def advance_to(self, tokens: int) -> None:
        self.progress.update(self.task, completed=tokens)

    def update(self, step: int, stage: str, loss: float, tokens: int) -> None:
        self.progress.update(self.task, advance=tokens, step=step, stage=stage, loss=f"{loss:.4f}")
