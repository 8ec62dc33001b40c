"""Benchmark: WARC -> trafilatura -> quality filters, datatrove in-process vs this layer on Spark.

    python bench/curation_warc.py [--copies 10] [--cores 1]

Both read the same WARC.gz files (`--copies` crawls of the demo web pages, about 180 pages and 190
other records each): datatrove with WarcReader + Trafilatura + Gopher/C4/FineWeb filters on a
LocalPipelineExecutor (1 task, 1 worker), this layer with ExtractText + the same filters on Spark
`local[N]`. Prints pages per second per core for each and the ratio (goal >= 1.5), and the number of
pages whose decision or kept text differs (goal 0). By default ExtractText empties trafilatura's
duplicate cache before each page (deterministic across partitionings) while datatrove keeps it, so
a paragraph repeated on many pages is kept here and left out there; `--cross-page-dedup` runs
ExtractText with datatrove's behaviour. datatrove extracts in a sandbox subprocess, so
its "1 core" run uses a second process for trafilatura; the figures are wall-clock per core given.

Two figures per engine, both printed:
- total: the first run, cold, fixed costs included (datatrove's imports, spaCy and sandbox start;
  Spark's Python workers, JVM warm-up and its about 25 small jobs for reading, staging, ledger and
  commits). On a few hundred pages this is mostly fixed cost.
- steady state: the marginal rate of further, warm runs on `--copies` and `2 x --copies` files,
  (pages(2N) - pages(N)) / (time(2N) - time(N)), the fastest of two runs of each size: what each more
  page costs once a run is going; beside it the fixed seconds of a warm run that this rate leaves.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from curation_datatrove import filters  # noqa: E402


def crawl(copies: int, folder: Path) -> int:
    from curation.warc_corpus import web_pages, write_warc

    folder.mkdir()
    pages = 0
    for seed in range(copies):
        ps = [{**p, "url": f"{p['url']}?copy={seed}"} for p in web_pages(seed)]  # unique record ids
        pages += len(ps)
        write_warc(folder / f"crawl-{seed:03d}.warc.gz", ps)
    return pages


def run_datatrove(folder: Path, work: Path) -> tuple[float, dict[str, str]]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter

    executor = LocalPipelineExecutor(
        pipeline=[WarcReader(str(folder)), Trafilatura(), *filters(), ParquetWriter(str(work / "dt-out"))],
        tasks=1, workers=1, logging_dir=str(work / "dt-logs"))
    t = time.perf_counter()
    executor.run()
    elapsed = time.perf_counter() - t
    kept = {r["id"]: r["text"] for f in sorted((work / "dt-out").rglob("*.parquet"))
            for r in pq.read_table(f).to_pylist()}
    return elapsed, kept


def run_spark(folder: Path, work: Path, cores: int, cross_page: bool) -> tuple[float, dict[str, str]]:
    from curation import ExtractText, Pipeline, run_pipeline
    from dataforge.core.spark import get_spark

    spark = get_spark(f"local[{cores}]", app_name="bench-curation-warc")
    spark.range(10).count()  # session warm; the first job below still starts its Python workers
    t = time.perf_counter()
    steps = [ExtractText(cross_page_dedup=cross_page), *filters()]
    result = run_pipeline(Pipeline(steps=steps), [str(folder)], work / "spark-out",
                          spark=spark)
    elapsed = time.perf_counter() - t
    kept = {r["id"]: r["text"] for f in sorted((result.out / "data").rglob("*.parquet"))
            for r in pq.read_table(f).to_pylist()}
    return elapsed, kept


def steady(run, small: Path, large: Path, work: Path, n: int, extra: int, repeat: int = 2) -> tuple[float, float]:
    """Marginal pages/s of warm runs, and the fixed seconds of a warm run that it leaves: `large` has
    `extra` more pages than the `n` of `small`. Each size runs
    `repeat` times, alternately, and its fastest run counts: on a shared machine one slow run would
    otherwise swing a difference of two times."""
    times: dict[Path, float] = {}
    for i in range(repeat):
        for folder in (small, large):
            out = work / f"{folder.name}-{i}"
            out.mkdir(parents=True)
            times[folder] = min(times.get(folder, float("inf")), run(folder, out)[0])
    rate = extra / max(times[large] - times[small], 1e-9)
    return rate, times[small] - n / rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--copies", type=int, default=10, help="WARC files, each a crawl of the demo pages of one seed")
    ap.add_argument("--cores", type=int, default=1, help="Spark local[N] cores for this layer")
    ap.add_argument("--cross-page-dedup", action="store_true",
                    help="ExtractText(cross_page_dedup=True): trafilatura's duplicate cache kept across pages")
    ap.add_argument("--show", action="store_true", help="print the first differing text")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        n = crawl(a.copies, work / "warc")
        extra = crawl(2 * a.copies, work / "warc-2n") - n  # the same N files plus N more
        mb = sum(p.stat().st_size for p in (work / "warc").iterdir()) / 1e6
        t_dt, kept_dt = run_datatrove(work / "warc", work)
        m_dt, f_dt = steady(run_datatrove, work / "warc", work / "warc-2n", work / "dt", n, extra)
        spark = lambda folder, out: run_spark(folder, out, a.cores, a.cross_page_dedup)  # noqa: E731
        t_sp, kept_sp = spark(work / "warc", work)
        m_sp, f_sp = steady(spark, work / "warc", work / "warc-2n", work / "sp", n, extra)
        m_sp /= a.cores
    only = set(kept_dt) ^ set(kept_sp)
    text = [k for k in set(kept_dt) & set(kept_sp) if kept_dt[k] != kept_sp[k]]
    dt_rate, sp_rate = n / t_dt, n / t_sp / a.cores
    print(f"input: {a.copies} WARC.gz files, {mb:.1f} MB, {n} HTML pages; ExtractText/Trafilatura, "
          "GopherQualityFilter, C4QualityFilter, FineWebQualityFilter")
    print(f"total, first run (fixed costs included); steady state, marginal pages/s of warm runs on {n} and "
          f"{n + extra} pages:")
    print(f"datatrove LocalPipelineExecutor (1 task): {t_dt:8.2f} s  {dt_rate:8.1f} pages/s/core  kept {len(kept_dt)}"
          f"  steady state {m_dt:8.1f} pages/s/core + {f_dt:5.2f} s fixed per warm run")
    print(f"curation on Spark local[{a.cores}]:          {t_sp:8.2f} s  {sp_rate:8.1f} pages/s/core  kept {len(kept_sp)}"
          f"  steady state {m_sp:8.1f} pages/s/core + {f_sp:5.2f} s fixed per warm run")
    print(f"ratio (this layer / datatrove, per core): total {sp_rate / dt_rate:.2f}, steady state {m_sp / m_dt:.2f}"
          "  (goal >= 1.5)")
    print(f"pages with differing decisions: {len(only)}, differing kept text: {len(text)}  (goal 0)")
    if a.show and text:
        import difflib

        k = sorted(text)[0]
        print("\n".join(difflib.unified_diff(kept_dt[k].splitlines(), kept_sp[k].splitlines(), "datatrove", "curation",
                                             lineterm="", n=0)))


if __name__ == "__main__":
    main()
