"""Helpers for the reliability tests: every bad input or fault has a test that checks the accounting.

Each test asserts that nothing is lost (input lines == ledger rows, or the fault is named) and that
paths a run did not create keep their bytes.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]


def snapshot(root: str | Path) -> dict[str, str]:
    """sha256 of every file under `root` (or of `root` itself), by relative path."""
    root = Path(root)
    if root.is_file():
        return {root.name: hashlib.sha256(root.read_bytes()).hexdigest()}
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def nonblank_lines(path: str | Path) -> int:
    """Non-blank lines of a plain JSONL file."""
    return sum(1 for ln in Path(path).read_bytes().split(b"\n") if ln.strip())


def ledger_rows(out: str | Path) -> list[dict]:
    """Every ledger row of a curated directory."""
    files = sorted((Path(out) / "ledger").rglob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def forge(*args: str, cwd: str | Path = REPO, timeout: float = 600, env: dict | None = None):
    """Run the CLI as a user would; returns the CompletedProcess (text mode)."""
    return subprocess.run([sys.executable, "-m", "jobs.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout, env=env)


def error_line(p: subprocess.CompletedProcess) -> str:
    """The one error line of a failed run; fails the test when the error is not one line."""
    lines = [ln for ln in p.stderr.splitlines() if ln.strip() and not ln.startswith(("WARNING", "Setting default"))]
    errors = [ln for ln in lines if ln.startswith("forge: error:")]
    assert len(errors) == 1, f"expected one 'forge: error:' line, got:\n{p.stderr[-3000:]}"
    assert "Traceback" not in p.stderr, p.stderr[-3000:]
    return errors[0]
