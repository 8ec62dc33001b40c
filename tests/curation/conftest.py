"""Shared fixtures for the curation tests: the shipped web corpus and one run of the web example."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation import as_pipeline, run_pipeline, web_demo_path
from dataforge.core.specs import load_spec

REPO = Path(__file__).resolve().parents[2]
WEB_EXAMPLE = REPO / "examples" / "curate" / "web.py"


def _rows(path: str | Path) -> list[dict]:
    """All rows of a Parquet dataset directory (in file order)."""
    files = sorted(Path(path).rglob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def _file_bytes(root: str | Path) -> dict[str, bytes]:
    """Every hashed file of a dataset dir (manifest, png excluded), by relative path."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != "manifest.json" and p.suffix != ".png"}


def _write_jsonl(path: Path, lines: list) -> Path:
    """Lines may be dicts (dumped as JSON), str or bytes (written as they are)."""
    with open(path, "wb") as f:
        for ln in lines:
            if isinstance(ln, dict):
                ln = json.dumps(ln, ensure_ascii=False)
            f.write((ln.encode("utf-8") if isinstance(ln, str) else ln) + b"\n")
    return path


@pytest.fixture(scope="session")
def web_corpus() -> list[dict]:
    return [json.loads(ln) for ln in web_demo_path().read_text("utf-8").splitlines()]


@pytest.fixture(scope="session")
def web_run(spark, tmp_path_factory):
    """The shipped web example over the shipped corpus, run once in-process (local[2])."""
    pipeline = as_pipeline(load_spec(WEB_EXAMPLE, "pipeline"))
    out = tmp_path_factory.mktemp("web") / "curated"
    return run_pipeline(pipeline, [str(web_demo_path())], out, spark=spark)


# Helpers as fixtures: with --import-mode=importlib a test module cannot import conftest by name.
@pytest.fixture(scope="session")
def rows():
    return _rows


@pytest.fixture(scope="session")
def file_bytes():
    return _file_bytes


@pytest.fixture(scope="session")
def write_jsonl():
    return _write_jsonl
