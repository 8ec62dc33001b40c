"""`forge export DIR --to PATH`: a clean copy that `datasets.load_dataset` reads, with nothing else in it;
refusals are one line, exit 2, and touch nothing."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from dataforge.core.manifest import Manifest
from jobs.cli import main as forge


def snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("forge: error: "), err
    return lines[0]


def load(path: Path, name: str | None = None):
    from datasets import load_dataset

    return load_dataset(str(path), name, split="train", cache_dir=str(path.parent / f".hf-{path.name}-{name}"))


@pytest.fixture(scope="module")
def curated(spark, tmp_path_factory) -> Path:
    """A real curated output (dedup drops, a bad line quarantined) with junk planted beside its tables."""
    from curation import ExactDedup, Pipeline, run_pipeline

    root = tmp_path_factory.mktemp("export")
    lines = [json.dumps({"text": f"Record number {i} says something plain."}) for i in range(5)]
    (root / "in.jsonl").write_text("\n".join([*lines, lines[0], "{broken"]) + "\n")
    out = root / "curated"
    run_pipeline(Pipeline(steps=[ExactDedup()]), [str(root / "in.jsonl")], out, spark=spark)
    # what an export must leave behind: lock and temp files, scratch, a cache, a stray file
    (out / ".curated.lock").write_text("{}")
    (out / "data" / ".part-00000.parquet.crc").write_bytes(b"crc")
    (out / "_work").mkdir()
    (out / "_work" / "scratch.parquet").write_bytes(b"x")
    (out / ".hf-cache").mkdir()
    (out / ".hf-cache" / "blob").write_bytes(b"x")
    (out / "notes.tmp").write_text("scratch")
    return out


def test_export_copies_only_manifest_files_card_and_charts_and_every_config_loads(curated, tmp_path, capsys):
    m = Manifest.read(curated)
    dest = tmp_path / "up" / "web"
    assert forge(["export", str(curated), "--to", str(dest)]) == 0
    assert f"exported curated {m.id}" in capsys.readouterr().out
    have = snapshot(dest)
    assert set(have) == {*m.files, "README.md", "funnel.png", "manifest.json"}
    assert all(have[rel] == digest for rel, digest in m.files.items())
    assert (dest / "manifest.json").read_bytes() == (curated / "manifest.json").read_bytes()
    assert (dest / "README.md").read_bytes() == (curated / "README.md").read_bytes()
    assert not [p for p in dest.parent.iterdir() if p.name != "web"]  # no temp sibling or lock left
    assert load(dest).num_rows == m.counts["kept"] == 5
    assert load(dest, "dropped").num_rows == m.counts["dropped"] == 1
    assert load(dest, "quarantine").num_rows == m.counts["quarantined"] == 1
    assert load(dest, "ledger").num_rows == m.counts["input"] == 7


def test_export_into_an_empty_directory_is_allowed(curated, tmp_path):
    (tmp_path / "empty").mkdir()
    assert forge(["export", str(curated), "--to", str(tmp_path / "empty")]) == 0
    assert (tmp_path / "empty" / "manifest.json").is_file()


def test_export_into_a_non_empty_directory_is_refused_and_touches_nothing(curated, tmp_path, capsys):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    before, src_before = snapshot(dest), snapshot(curated)
    assert forge(["export", str(curated), "--to", str(dest)]) == 2
    assert "is not empty" in one_error(capsys)
    assert snapshot(dest) == before and snapshot(curated) == src_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


@pytest.mark.parametrize("where, says", [("inside", "is inside the input"), ("same", "is the input")])
def test_export_inside_or_onto_the_source_is_refused(curated, where, says, capsys):
    before = snapshot(curated)
    dest = curated / "export" if where == "inside" else curated
    assert forge(["export", str(curated), "--to", str(dest)]) == 2
    assert says in one_error(capsys)
    assert snapshot(curated) == before


def test_export_of_a_folder_that_is_not_a_committed_output_is_refused(tmp_path, capsys):
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "a.parquet").write_bytes(b"x")
    assert forge(["export", str(stray), "--to", str(tmp_path / "o")]) == 2
    assert "is not an engine output" in one_error(capsys)
    unfinished = tmp_path / "run"
    unfinished.mkdir()
    (unfinished / ".forge-output.json").write_text(json.dumps({"kind": "run"}))
    assert forge(["export", str(unfinished), "--to", str(tmp_path / "o")]) == 2
    assert "unfinished run output" in one_error(capsys)
    assert not (tmp_path / "o").exists()


def test_a_data_file_changed_after_the_commit_refuses_the_export_and_leaves_no_path(curated, tmp_path, capsys):
    src = tmp_path / "copy"
    assert forge(["export", str(curated), "--to", str(src)]) == 0
    capsys.readouterr()
    part = sorted((src / "data").glob("*.parquet"))[0]
    os.chmod(part, 0o644)
    part.write_bytes(part.read_bytes() + b"tampered")
    assert forge(["export", str(src), "--to", str(tmp_path / "again")]) == 2
    line = one_error(capsys)
    assert "data/part-00000.parquet no longer matches its sha256" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


def test_an_output_without_a_card_gets_one_in_the_export(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    old = tmp_path / "old"
    (old / "data").mkdir(parents=True)
    pq.write_table(pa.table({"id": ["a", "b"], "text": ["x", "y"]}), old / "data" / "part-00000.parquet")
    Manifest.build(old, "generated", {"walks": 2}, counts={"records": 2}).write(old)
    assert forge(["export", str(old), "--to", str(tmp_path / "new")]) == 0
    assert not (old / "README.md").exists()
    assert load(tmp_path / "new")["id"] == ["a", "b"]


def test_a_run_export_leaves_checkpoints_and_run_json_behind(tmp_path):
    from dataforge.core.card import write_card
    from dataforge.core.manifest import data_files

    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "checkpoints" / "step-2").mkdir(parents=True)
    (run / "checkpoints" / "step-2" / "state.pt").write_bytes(b"big")
    (run / "model" / "config.json").write_text("{}")
    (run / "run.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 2.0}\n')
    files = {f"model/{k}": v for k, v in data_files(run / "model").items()}
    files["metrics.jsonl"] = data_files(run)["metrics.jsonl"]
    m = Manifest(id="r1", kind="run", parents=["mx"], config={"name": "tiny"}, counts={"steps": 2}, files=files,
                 code_version="test", created_at="now")
    write_card(run, m)
    m.write(run)
    assert forge(["export", str(run), "--to", str(tmp_path / "up")]) == 0
    assert set(snapshot(tmp_path / "up")) == {"model/config.json", "metrics.jsonl", "README.md", "manifest.json"}
    assert load(tmp_path / "up")["loss"] == [2.5, 2.0]
