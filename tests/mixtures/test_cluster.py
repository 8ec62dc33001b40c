"""`spark-submit jobs/mix.py build` on the standalone cluster gives the local build's id and bytes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import jobs
from dataforge.core.manifest import Manifest
from mixtures import open_mixture

MIX_JOB = Path(jobs.__file__).parent / "mix.py"


@pytest.mark.cluster
def test_spark_submit_build_matches_local_build(cluster, example, tmp_path):
    reg = tmp_path / "registry"
    apps_before = set(cluster.state_dir.glob("worker-*/app-*"))
    proc = cluster.submit(MIX_JOB, "build", str(example["spec"]), "--registry", str(reg), "--partitions", "3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    mid = proc.stdout.strip().splitlines()[-1]
    assert mid == example["id"]
    local = Manifest.read(example["registry"] / mid)
    remote = open_mixture(mid, reg).manifest
    assert remote.files == local.files
    for rel in local.files:
        assert (reg / mid / rel).read_bytes() == (example["registry"] / mid / rel).read_bytes()
    assert remote.extra["stages"] == local.extra["stages"]
    # The cluster's executors did the work: the application ran on its workers, and the shard files were
    # written by their processes, not by the driver.
    assert set(cluster.state_dir.glob("worker-*/app-*")) - apps_before
    writers, driver = re.search(r"shard files written by \d+ executor process\(es\): (.+) \(driver (\S+)\)",
                                proc.stdout + proc.stderr).groups()  # spark-submit merges them
    assert writers.split() and driver not in writers.split()
