"""A Spark standalone cluster on 127.0.0.1 from the pip-installed pyspark: one master, N workers.

Code that works in `local[*]` often breaks on a cluster (closures that do not pickle, modules missing
on executors, driver-only paths); tests run the `jobs/` entry points through `spark-submit` against
this cluster to catch that.

    python -m jobs.cluster up [--workers 2] [--state .cluster]     # make cluster-up
    python -m jobs.cluster down [--state .cluster]                 # make cluster-down
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from dataforge.core.spark import check_java, spark_home
from training.distributed import free_port

HOST = "127.0.0.1"


class StandaloneCluster:
    """Start with `start()`, submit with `submit()`, stop with `stop()` (also a context manager).

    Args:
        state_dir: where logs, work dirs and the pid file go.
        workers: worker processes, each with `cores` cores and `memory` of executor memory.
        port: the master's port (a free one when None).
    """

    def __init__(self, state_dir: str | Path, workers: int = 2, cores: int = 1, memory: str = "3g",
                 port: int | None = None):
        self.state_dir = Path(state_dir).absolute()
        self.workers, self.cores, self.memory = workers, cores, memory
        self.port = port or free_port()
        self.webui_port = free_port()
        self.procs: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    def _env(self) -> dict[str, str]:
        env = dict(os.environ, SPARK_HOME=str(spark_home()), PYSPARK_PYTHON=sys.executable,
                   SPARK_LOCAL_IP=HOST, SPARK_NO_DAEMONIZE="1")
        env.pop("PYSPARK_GATEWAY_PORT", None)
        return env

    def _launch(self, name: str, *args: str) -> None:
        log = open(self.state_dir / f"{name}.log", "wb")
        cmd = [str(spark_home() / "bin" / "spark-class"), *args]
        self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self._env(),
                                           start_new_session=True))

    def alive_workers(self) -> int:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.webui_port}/json/", timeout=2) as r:
                return int(json.load(r).get("aliveworkers", 0))
        except OSError:
            return -1

    def start(self, timeout: float = 120) -> StandaloneCluster:
        check_java()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._launch("master", "org.apache.spark.deploy.master.Master", "--host", HOST,
                     "--port", str(self.port), "--webui-port", str(self.webui_port))
        for i in range(self.workers):
            work = self.state_dir / f"worker-{i}"
            work.mkdir(exist_ok=True)
            self._launch(f"worker-{i}", "org.apache.spark.deploy.worker.Worker", self.url,
                         "--host", HOST, "--cores", str(self.cores), "--memory", self.memory,
                         "--webui-port", str(free_port()), "--work-dir", str(work))
        deadline = time.monotonic() + timeout
        while self.alive_workers() < self.workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
                self.stop()
                raise RuntimeError(f"standalone cluster did not come up; see logs in {self.state_dir}")
            time.sleep(0.5)
        (self.state_dir / "cluster.json").write_text(json.dumps(
            {"url": self.url, "pids": [p.pid for p in self.procs]}))
        return self

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
        self.procs.clear()
        (self.state_dir / "cluster.json").unlink(missing_ok=True)

    def submit(self, script: str | Path, *args: str, conf: dict[str, str] | None = None,
               timeout: float = 900) -> subprocess.CompletedProcess:
        """`spark-submit --master <this cluster> script args...`; returns the finished process."""
        cmd = [str(spark_home() / "bin" / "spark-submit"), "--master", self.url,
               "--conf", f"spark.pyspark.python={sys.executable}",
               "--conf", f"spark.pyspark.driver.python={sys.executable}"]
        for k, v in (conf or {}).items():
            cmd += ["--conf", f"{k}={v}"]
        cmd += [str(script), *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=self._env(), timeout=timeout)

    def __enter__(self) -> StandaloneCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _down(state_dir: Path) -> None:
    info = state_dir / "cluster.json"
    if not info.is_file():
        print(f"no cluster recorded in {state_dir}")
        return
    for pid in json.loads(info.read_text())["pids"]:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    info.unlink()
    print("cluster stopped")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m jobs.cluster", description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["up", "down"])
    ap.add_argument("--state", default=".cluster", help="state directory (logs, pids)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=7077)
    a = ap.parse_args(argv)
    if a.action == "down":
        _down(Path(a.state))
        return
    c = StandaloneCluster(a.state, workers=a.workers, port=a.port).start()
    # Detach: the processes run in their own sessions and outlive this command until `down`.
    c.procs.clear()
    print(f"cluster up: {c.url}  (web UI http://{HOST}:{c.webui_port}); stop with `make cluster-down`")


if __name__ == "__main__":
    main()
