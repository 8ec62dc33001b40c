"""Model and table files a step needs on executors: shipped with Spark, pinned by sha256.

The driver hashes the file and hands it to `SparkContext.addFile`, so executors on other machines get
their own copy (no shared filesystem needed); each executor checks the sha256 once per partition
before loading it, so a step never runs with a file other than the one the manifest names.
"""

from __future__ import annotations

from pathlib import Path

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file


def pin_file(path: str | Path, expected: str | None, what: str) -> str:
    """sha256 of a local file, checked against `expected` when the spec gives one."""
    path = Path(path)
    if not path.is_file():
        raise ForgeError(f"{what} {path}: no such file")
    digest = sha256_file(path)
    if expected and digest != expected:
        raise ForgeError(f"{what} {path}: sha256 is {digest}, the spec pins {expected}; use the pinned file "
                         "or update the spec")
    return digest


def ship_file(spark, path: str | Path) -> str:
    """Make `path` available to every executor; returns the name to fetch it by."""
    path = Path(path).absolute()
    sc = spark.sparkContext
    if str(path) not in _shipped(sc):
        sc.addFile(str(path))
        _shipped(sc).add(str(path))
    return path.name


def _shipped(sc) -> set[str]:
    if not hasattr(sc, "_dataforge_shipped"):
        sc._dataforge_shipped = set()
    return sc._dataforge_shipped


def fetch_file(name: str, fallback: str | Path, sha256: str) -> str:
    """Executor side: the shipped copy of a file (or the original path outside Spark), verified."""
    candidates = []
    try:
        from pyspark import SparkFiles

        candidates.append(Path(SparkFiles.get(name)))
    except Exception:  # noqa: BLE001 - no SparkContext in this process: use the path as given
        pass
    candidates.append(Path(fallback))
    for p in candidates:
        if p.is_file():
            if sha256_file(p) != sha256:
                raise ForgeError(f"{p}: sha256 differs from the pinned {sha256}; the file changed during the job")
            return str(p)
    raise ForgeError(f"{name}: not shipped to this executor and {fallback} is not readable here")
