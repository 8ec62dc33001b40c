"""Benchmark: datatrove's quality filters run by this layer on Spark vs datatrove's LocalPipelineExecutor.

    python bench/curation_datatrove.py [--copies 100] [--cores 1]

Both read the same corpus from files (Parquet for datatrove's reader, JSONL for ours), apply
GopherQualityFilter, C4QualityFilter and FineWebQualityFilter, and write what they keep. Prints
documents per second per core for each and the ratio (goal >= 1.0), and the number of documents on
which the two disagree (kept or not, and the kept text; must be 0). The Spark session is started
before timing, the Python workers and spaCy load inside the timed run. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def corpus(copies: int, new_words: float = 0.03) -> list[dict]:
    """Copies of the demo web corpus with a share of words swapped for made-up ones.

    The demo corpus has a vocabulary of about 2,000 words; web text keeps meeting words it has not
    seen (names, typos, numbers), which is what a tokenizer's vocabulary handling pays for.
    """
    import random
    import string

    from curation.corpus import make_web_corpus

    rng = random.Random(0)

    def vary(text: str) -> str:
        return " ".join("".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 10)))
                        if rng.random() < new_words else w for w in text.split(" "))

    return [{"id": f"s{seed}-{i}", "text": vary(r["text"])} for seed in range(copies)
            for i, r in enumerate(make_web_corpus(seed))]


def filters():
    from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter

    return [GopherQualityFilter(), C4QualityFilter(), FineWebQualityFilter()]


def run_datatrove(records: list[dict], work: Path) -> tuple[float, dict[str, str]]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter

    (work / "dt-in").mkdir()
    pq.write_table(pa.Table.from_pylist(records), work / "dt-in" / "corpus.parquet")
    executor = LocalPipelineExecutor(
        pipeline=[ParquetReader(str(work / "dt-in")), *filters(), ParquetWriter(str(work / "dt-out"))],
        tasks=1, workers=1, logging_dir=str(work / "dt-logs"))
    t = time.perf_counter()
    executor.run()
    elapsed = time.perf_counter() - t
    kept = {r["id"]: r["text"] for f in sorted((work / "dt-out").rglob("*.parquet"))
            for r in pq.read_table(f).to_pylist()}
    return elapsed, kept


def run_spark(records: list[dict], work: Path, cores: int) -> tuple[float, dict[str, str]]:
    from curation import Pipeline, run_pipeline
    from dataforge.core.spark import get_spark

    src = work / "corpus.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    spark = get_spark(f"local[{cores}]", app_name="bench-curation-datatrove")
    spark.range(10).count()  # session warm; the job below still starts its Python workers
    t = time.perf_counter()
    result = run_pipeline(Pipeline(steps=filters()), [str(src)], work / "spark-out", spark=spark)
    elapsed = time.perf_counter() - t
    kept = {r["id"]: r["text"] for f in sorted((result.out / "data").rglob("*.parquet"))
            for r in pq.read_table(f).to_pylist()}
    return elapsed, kept


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=100, help="copies of the demo web corpus (about 177 docs each)")
    ap.add_argument("--cores", type=int, default=1, help="Spark local[N] cores for this layer")
    ap.add_argument("--new-words", type=float, default=0.03, help="share of words replaced by made-up ones")
    a = ap.parse_args()
    records = corpus(a.copies, a.new_words)
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        t_dt, kept_dt = run_datatrove(records, work)
        t_sp, kept_sp = run_spark(records, work, a.cores)
    n = len(records)
    differ = len(set(kept_dt) ^ set(kept_sp)) + sum(1 for k in set(kept_dt) & set(kept_sp) if kept_dt[k] != kept_sp[k])
    dt_rate, sp_rate = n / t_dt, n / t_sp / a.cores
    print(f"corpus: {n} documents; filters: GopherQualityFilter, C4QualityFilter, FineWebQualityFilter")
    print(f"datatrove LocalPipelineExecutor (1 core): {t_dt:8.2f} s  {dt_rate:8.1f} docs/s/core  kept {len(kept_dt)}")
    print(f"curation on Spark local[{a.cores}]:          {t_sp:8.2f} s  {sp_rate:8.1f} docs/s/core  kept {len(kept_sp)}")
    print(f"ratio (this layer / datatrove, per core): {sp_rate / dt_rate:.2f}  (goal >= 1.0)")
    print(f"documents with differing decisions: {differ}  (must be 0)")


if __name__ == "__main__":
    main()
