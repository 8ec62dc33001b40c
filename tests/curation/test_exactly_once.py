"""Exactly-once output: a SIGKILLed job leaves nothing that looks complete, and a rerun (or a run on the
standalone cluster through spark-submit) gives byte-identical files and the same manifest id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from curation import as_pipeline, run_pipeline, web_demo_path
from dataforge.core.manifest import Manifest
from dataforge.core.specs import load_spec

REPO = Path(__file__).resolve().parents[2]
WEB_EXAMPLE = REPO / "examples" / "curate" / "web.py"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.pop("PYSPARK_GATEWAY_PORT", None)
    return env


def _kill_when(out: Path, ready, timeout: float = 600) -> None:
    """Start the CLI job, SIGKILL its whole process group (driver, JVM, workers) once `ready(tmp)`."""
    cmd = [sys.executable, "-m", "jobs.cli", "curate", str(WEB_EXAMPLE), "--input", str(web_demo_path()),
           "--out", str(out), "--master", "local[2]"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=_env(), start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if any(ready(t) for t in out.parent.glob(f".{out.name}.tmp-*")):
                break
            assert proc.poll() is None, "the job finished before it could be killed"
            time.sleep(0.02)
        else:
            pytest.fail("the job never reached the kill point")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_at_any_point_then_rerun_is_byte_identical(spark, tmp_path, web_run, file_bytes):
    out = tmp_path / "curated"
    # killed while the steps run (a few stages written to scratch) ...
    _kill_when(out, lambda t: (t / "_work").is_dir() and len(list((t / "_work").iterdir())) >= 4)
    assert not out.exists()
    # ... and killed again while the outputs are being written
    _kill_when(out, lambda t: (t / "ledger").is_dir() or any(t.glob(".ledger.spark-*")))
    assert not (out / "manifest.json").exists()
    result = run_pipeline(as_pipeline(load_spec(WEB_EXAMPLE, "pipeline")), [str(web_demo_path())], out, spark=spark)
    assert file_bytes(out) == file_bytes(web_run.out)
    assert result.manifest.id == web_run.manifest.id
    assert not list(tmp_path.glob(".curated.*"))  # the killed runs' temp dirs were swept


@pytest.mark.cluster
def test_spark_submit_on_standalone_cluster_matches_local_bytes(cluster, tmp_path, web_run, file_bytes):
    out = tmp_path / "cluster-out"
    proc = cluster.submit(REPO / "jobs" / "curate.py", str(WEB_EXAMPLE), "--input", str(web_demo_path()),
                          "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert file_bytes(out) == file_bytes(web_run.out)
    assert Manifest.read(out).id == web_run.manifest.id
