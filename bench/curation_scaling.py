"""Benchmark: the same curation job on Spark local[1] and local[2]; prints the speedup.

    python bench/curation_scaling.py [--copies 100]

The job is the shipped web example (exact dedup, MinHash, repetition, Gopher, C4, FineWeb) over
copies of the demo web corpus. Both runs must produce the same manifest id. Run it on a quiet
machine with at least 2 free cores.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    from pyspark.sql import SparkSession

    from curation import as_pipeline, make_web_corpus, run_pipeline
    from dataforge.core.spark import get_spark
    from dataforge.core.specs import load_spec

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=100)
    a = ap.parse_args()
    pipeline = as_pipeline(load_spec(REPO / "examples" / "curate" / "web.py", "pipeline"))
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "web.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for seed in range(a.copies):
                for i, r in enumerate(make_web_corpus(seed)):
                    f.write(json.dumps({**r, "id": f"s{seed}-{i}"}) + "\n")
        times, ids = {}, {}
        for cores in (1, 2):
            spark = get_spark(f"local[{cores}]", app_name=f"bench-scaling-{cores}")
            spark.range(10).count()
            t = time.perf_counter()
            result = run_pipeline(pipeline, [str(src)], Path(d) / f"out{cores}", spark=spark)
            times[cores], ids[cores] = time.perf_counter() - t, result.manifest.id
            spark.stop()
            SparkSession._instantiatedSession = None
        n = result.manifest.counts["input"]
    print(f"job: examples/curate/web.py over {n} documents")
    for cores in (1, 2):
        print(f"local[{cores}]: {times[cores]:7.2f} s  {n / times[cores]:7.1f} docs/s")
    print(f"speedup local[2] / local[1]: {times[1] / times[2]:.2f}x  (same output: {ids[1] == ids[2]})")


if __name__ == "__main__":
    main()
