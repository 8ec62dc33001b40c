"""Deterministic Parquet I/O: same rows -> same file names and bytes, whatever the partitioning.

Spark names its part files with a random UUID; `write_parquet` fixes the layout (hash-partitioned
by a key into `num_files` buckets, sorted within each) and renames parts to `part-00000.parquet`...
Outputs are written to a local or shared-mount directory (the engine commits them with a rename);
inputs can come from any filesystem Spark reads (HDFS, S3, ...).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dataforge.core.commit import tmp_sibling

DATA_DIR = "data"


def write_parquet(df, out_dir: str | Path, num_files: int = 1, key: Sequence[str] = ("id",),
                  canonical: bool = True) -> list[Path]:
    """Write a Spark DataFrame to `out_dir/part-NNNNN.parquet`, byte-identical for the same rows.

    `canonical=False` leaves the pyarrow rewrite to the caller: `canonicalize` over the files of
    several outputs at once costs one Spark job instead of one per output.
    """
    out_dir = Path(out_dir).absolute()
    # This run's own staging dir (host and pid in its name): two writers never share or remove it.
    staging = tmp_sibling(out_dir, "spark")
    cols = list(key)
    try:
        (df.repartition(num_files, *cols).sortWithinPartitions(*cols)
           .write.mode("overwrite").parquet(staging.as_uri()))
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for i, part in enumerate(sorted(staging.glob("part-*.parquet"))):
            dest = out_dir / f"part-{i:05d}.parquet"
            os.replace(part, dest)
            written.append(dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if canonical:
        canonicalize(df.sparkSession, written)
    return written


def canonicalize(spark, files: Sequence[Path]) -> None:
    """`canonical_parquet` on every file, on executors: the files can be large, and Spark wrote them
    from there anyway."""
    if files:
        paths = [str(p) for p in files]
        spark.sparkContext.parallelize(paths, len(paths)).foreach(canonical_parquet)


def canonical_parquet(path: str) -> None:
    """Rewrite a Parquet file with pyarrow, in place.

    parquet-mr lists each column's encodings in hash-set order, which differs from one JVM to the
    next, so Spark's files are byte-stable only within one JVM; a pyarrow rewrite of the same rows is
    byte-stable everywhere (a local run and a spark-submit run give the same bytes).
    """
    table = pq.read_table(path)
    tmp = f"{path}.canonical"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def write_table(rows: Iterable[dict[str, Any]], path: str | Path, schema: pa.Schema) -> Path:
    """Write rows from the driver with pyarrow (small outputs: reports, ledgers of a few rows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(rows), schema=schema)
    pq.write_table(table, path, compression="zstd")
    return path


def parquet_files(path: str | Path) -> list[Path]:
    """The Parquet files of a dataset (the record contract's listing: `data/` of an engine dataset)."""
    from dataforge.core.records.files import record_files

    path = Path(path)
    if path.is_file():
        return [path]
    return record_files(path).get("parquet", [])


def read_table(path: str | Path) -> pa.Table:
    """Read a whole (small) dataset on the driver, in file order."""
    files = parquet_files(path)
    if not files:
        raise FileNotFoundError(f"{path}: no Parquet files")
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
