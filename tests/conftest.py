"""Session-wide fixtures: one local SparkSession and one standalone cluster per test run."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DS_ACCELERATOR", "cpu")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def spark():
    """The one local SparkSession of the test run (`local[2]`: partitions really run in parallel)."""
    from dataforge.core.spark import get_spark

    session = get_spark("local[2]", app_name="dataforge-tests")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A Spark standalone master and two 1-core workers on 127.0.0.1, stopped after the run."""
    from jobs.cluster import StandaloneCluster

    with StandaloneCluster(tmp_path_factory.mktemp("cluster")) as c:
        yield c


@pytest.fixture(scope="session")
def embedded_llm():
    """The embedded SmolLM2 on the `transformers` backend, loaded once per test run (CPU unless CUDA).

    Every layer's tests share it; wrap it in `dataforge.CachedBackend(embedded_llm, None)` to count calls.
    """
    from dataforge.backends.transformers import TransformersBackend

    backend = TransformersBackend("embedded", batch_size=16)
    yield backend
    backend.close()
