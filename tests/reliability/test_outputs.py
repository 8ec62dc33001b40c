"""Outputs are safe: a verb writes only into what it creates (or what --overwrite names), under a lock.

Each test names one bad output path or fault point and checks that what the run did not create keeps
its bytes (`snapshot`). Refusals are cheap: they happen before Spark starts. The classifier trainer
(`forge curate train-classifier`, no Spark) stands in where a whole real run is needed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dataforge.core.inplace import MARKER
from dataforge.core.lock import OutputLock, lock_path
from dataforge.core.manifest import Manifest
from tests.reliability.conftest import REPO, error_line, forge, snapshot
from training.runinfo import claim_run_dir

GOOD = [f"the committee published a careful report on river water quality number {i}" for i in range(12)]
BAD = [f"click here buy now cheap deals win prizes {i} !!!" for i in range(12)]
PIPELINE = "from curation import ExactDedup\n\npipeline = [ExactDedup()]\n"


def _jsonl(path: Path, texts: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    return path


def _examples(root: Path) -> tuple[Path, Path]:
    return _jsonl(root / "good.jsonl", GOOD), _jsonl(root / "bad.jsonl", BAD)


def _classifier(pos: Path, neg: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return forge("curate", "train-classifier", "--positive", str(pos), "--negative", str(neg), "--out", str(out),
                 "--dim", "8", "--epoch", "2", *extra, timeout=300)


def _curate(inp: Path, out: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    spec = tmp_path / "specs" / "pipeline.py"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(PIPELINE)
    return forge("curate", str(spec), "--input", str(inp), "--out", str(out), *extra, timeout=300)


def _dead_pid() -> int:
    p = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                       check=True)
    return int(p.stdout)


def _refused(p: subprocess.CompletedProcess, *words: str) -> str:
    assert p.returncode == 2, p.stderr[-3000:]
    line = error_line(p)
    for w in words:
        assert w in line, line
    return line


@pytest.fixture
def web(tmp_path: Path) -> Path:
    return _jsonl(tmp_path / "d" / "in.jsonl", GOOD + BAD)


def test_out_equal_to_the_input_dir_is_refused_untouched(web, tmp_path):
    before = snapshot(tmp_path / "d")
    _refused(_curate(web.parent, web.parent, tmp_path), "is the input", "--out")
    assert snapshot(tmp_path / "d") == before


def test_out_inside_the_input_dir_is_refused_untouched(web, tmp_path):
    before = snapshot(tmp_path / "d")
    _refused(_curate(web.parent, web.parent / "curated", tmp_path), "is inside the input")
    assert snapshot(tmp_path / "d") == before and not (web.parent / "curated").exists()


def test_out_containing_the_input_is_refused_untouched(web, tmp_path):
    before = snapshot(tmp_path / "d")
    _refused(_curate(web, web.parent, tmp_path), "contains the input")  # the input file sits in --out
    _refused(_curate(web, web.parent, tmp_path, "--overwrite"), "contains the input")
    pos, neg = _examples(tmp_path / "d")
    before = snapshot(tmp_path / "d")
    _refused(_classifier(pos, neg, tmp_path / "d"), "contains the input")
    assert snapshot(tmp_path / "d") == before


def test_generate_out_containing_its_seed_file_is_refused(tmp_path):
    d = tmp_path / "d"
    spec = (REPO / "tests" / "dataforge" / "specs" / "tiny_qa.py").read_text().split("seeds = [")[0]
    d.mkdir()
    (d / "seeds.jsonl").write_text('{"id": "moon", "text": "The Moon orbits the Earth about once every 27 days."}\n')
    (d / "graph.py").write_text(spec + 'seeds = "seeds.jsonl"\n')
    before = snapshot(d)
    _refused(forge("generate", str(d / "graph.py"), "--out", str(d), "--overwrite"), "contains the input",
             "seeds.jsonl")
    assert snapshot(d) == before


def test_out_through_a_symlink_to_the_input_is_refused(web, tmp_path):
    (tmp_path / "link").symlink_to(web.parent)
    before = snapshot(tmp_path / "d")
    _refused(_curate(web, tmp_path / "link", tmp_path), "contains the input")
    assert snapshot(tmp_path / "d") == before


@pytest.mark.parametrize("overwrite", [False, True])
def test_out_holding_files_the_engine_did_not_write_is_refused(web, tmp_path, overwrite):
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "thesis.tex").write_text("years of work")
    before = snapshot(mine)
    _refused(_curate(web, mine, tmp_path, *(["--overwrite"] if overwrite else [])),
             "holds files the engine did not write", str(mine))
    assert snapshot(mine) == before and sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_out_that_is_a_file_is_refused(web, tmp_path):
    f = tmp_path / "out.parquet"
    f.write_bytes(b"PAR1 not mine")
    _refused(_curate(web, f, tmp_path, "--overwrite"), "is a file")
    assert f.read_bytes() == b"PAR1 not mine"


def test_out_of_another_verb_is_refused_even_with_overwrite(web, tmp_path):
    pos, neg = _examples(tmp_path / "ex")
    model = tmp_path / "model"
    assert _classifier(pos, neg, model).returncode == 0
    before = snapshot(model)
    _refused(_curate(web, model, tmp_path, "--overwrite"), "holds a classifier output, not a curated one")
    assert snapshot(model) == before


def test_same_verb_rerun_with_same_result_is_a_noop(tmp_path):
    pos, neg = _examples(tmp_path / "ex")
    out = tmp_path / "model"
    assert _classifier(pos, neg, out).returncode == 0
    before = snapshot(out)  # manifest.json holds created_at: a replaced output would differ
    p = _classifier(pos, neg, out)
    assert p.returncode == 0, p.stderr[-2000:]
    assert snapshot(out) == before


def test_same_verb_different_result_needs_overwrite(tmp_path):
    pos, neg = _examples(tmp_path / "ex")
    out = tmp_path / "model"
    assert _classifier(pos, neg, out).returncode == 0
    old_id, before = Manifest.read(out).id, snapshot(out)
    # another config: refused before any work
    _refused(_classifier(pos, neg, out, "--seed", "3"), old_id, "--overwrite")
    assert snapshot(out) == before
    # the same config over changed inputs: refused at the commit, once the new id is known
    _jsonl(pos, GOOD[:8])
    line = _refused(_classifier(pos, neg, out), old_id, "this run made", "--overwrite")
    assert snapshot(out) == before and "nothing was replaced" in line
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".model.")]  # its temp dir and lock are gone


def test_overwrite_replaces_a_same_verb_output_atomically(tmp_path):
    pos, neg = _examples(tmp_path / "ex")
    out = tmp_path / "model"
    assert _classifier(pos, neg, out).returncode == 0
    old_id = Manifest.read(out).id
    p = _classifier(pos, neg, out, "--seed", "3", "--overwrite")
    assert p.returncode == 0, p.stderr[-2000:]
    new = Manifest.read(out)
    assert new.id != old_id and new.config["seed"] == 3 and new.verify(out) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex", "model"]  # no .old-/.tmp- sibling, no lock


def test_second_run_on_a_locked_out_is_refused_and_the_first_commits(web, tmp_path):
    out = tmp_path / "curated"
    spec = tmp_path / "specs" / "pipeline.py"
    spec.parent.mkdir()
    spec.write_text(PIPELINE)
    first = subprocess.Popen([sys.executable, "-m", "jobs.cli", "curate", str(spec), "--input", str(web), "--out",
                              str(out), "--master", "local[1]"], cwd=REPO, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    lock = lock_path(out)
    deadline = time.monotonic() + 120
    while not lock.exists():
        assert first.poll() is None and time.monotonic() < deadline, "the first run never took its lock"
        time.sleep(0.05)
    second = _curate(web, out, tmp_path, "--overwrite")
    _refused(second, f"pid {first.pid}", socket.gethostname(), "since", "forge curate")
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-3000:]
    m = Manifest.read(out)
    assert m.kind == "curated" and m.verify(out) == [] and m.counts["input"] == len(GOOD) + len(BAD)
    assert not lock.exists() and not list(tmp_path.glob(".curated.*"))


def test_stale_lock_of_a_dead_pid_is_taken_over(tmp_path):
    pos, neg = _examples(tmp_path / "ex")
    out = tmp_path / "model"
    lock_path(out).write_text(json.dumps({"host": socket.gethostname(), "pid": _dead_pid(), "since": "earlier",
                                          "verb": "curate train-classifier", "token": "gone"}))
    p = _classifier(pos, neg, out)
    assert p.returncode == 0, p.stderr[-2000:]
    assert Manifest.read(out).kind == "classifier" and not lock_path(out).exists()


def test_lock_of_another_host_is_refused_until_its_heartbeat_is_old(tmp_path):
    out = tmp_path / "o"
    lock_path(out).write_text(json.dumps({"host": "elsewhere.example", "pid": 1, "since": "2024-01-01T00:00:00",
                                          "verb": "generate", "token": "theirs"}))
    with pytest.raises(Exception, match="pid 1 on elsewhere.example"):
        OutputLock(out, "curate").acquire()
    old = time.time() - 3600
    os.utime(lock_path(out), (old, old))  # no heartbeat for an hour: that run is gone
    with OutputLock(out, "curate") as lock:
        assert lock.owns() and json.loads(lock_path(out).read_text())["pid"] == os.getpid()
    assert not lock_path(out).exists()


def test_temp_dir_of_a_live_run_is_not_swept(tmp_path):
    pos, neg = _examples(tmp_path / "ex")
    out = tmp_path / "model"
    host = socket.gethostname()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        live = tmp_path / f".model.tmp-{host}-{sleeper.pid}-0badcafe"
        dead = tmp_path / f".model.tmp-{host}-{_dead_pid()}-deadbeef"
        for d in (live, dead):
            d.mkdir()
            (d / "part-00000.parquet").write_bytes(b"half written")
        before = snapshot(live)
        p = _classifier(pos, neg, out)
        assert p.returncode == 0, p.stderr[-2000:]
        assert snapshot(live) == before and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_demo_out_dir_is_claimed_before_any_work(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "data.csv").write_text("a,b\n1,2\n")
    before = snapshot(mine)
    _refused(forge("demo", "--out", str(mine), "--overwrite"), "holds files the engine did not write")
    assert snapshot(mine) == before
    demo = tmp_path / "demo"  # what an earlier demo left: its marker, specs and outputs
    (demo / "specs").mkdir(parents=True)
    (demo / MARKER).write_text(json.dumps({"kind": "demo"}))
    (demo / "specs" / "graph.py").write_text("# edited by hand\n")
    before = snapshot(demo)
    _refused(forge("demo", "--out", str(demo)), "already holds a demo output", "--overwrite")
    assert snapshot(demo) == before


def test_run_dir_holding_another_run_is_replaced_only_with_overwrite(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 1}\n')
    before = snapshot(run)
    for resume, overwrite, words in ((False, False, "pass --resume"), (True, True, "exclude each other")):
        with pytest.raises(Exception, match=words):
            claim_run_dir(run, resume=resume, overwrite=overwrite, is_main=True)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "x.bin").write_bytes(b"x")
    with pytest.raises(Exception, match="did not write"):
        claim_run_dir(foreign, resume=False, overwrite=True, is_main=True)
    assert snapshot(run) == before
    claim = claim_run_dir(run, resume=False, overwrite=True, is_main=True).acquire()
    assert not (run / "run.json").exists() and json.loads((run / MARKER).read_text()) == {"kind": "run"}
    (old,) = tmp_path.glob(".run.old-*")
    assert snapshot(old) == before  # moved away whole, deleted only once the new run ends well
    claim.release(ok=True)
    assert not old.exists() and not lock_path(run).exists()
