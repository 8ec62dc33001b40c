"""Benchmark: MinHash dedup quality against exact Jaccard, and throughput against datasketch and rensa.

    python bench/curation_minhash.py [--docs 100000] [--words 200]

The corpus has random documents plus planted near-duplicates whose exact Jaccard similarity (word
5-gram shingles) spreads from about 0.6 to 1.0. Both methods use the same shingling and 128
permutations at threshold 0.8. Prints, for this layer (MinHashDedup on Spark local[1]: signatures,
LSH buckets, verification, connected components, survivors) and for datasketch (MinHash +
MinHashLSH inserts and queries on one core) and rensa (Rust RMinHash + RMinHashLSH, 16 bands x 8
rows, one process): precision and recall of the duplicate pairs against exact Jaccard >= 0.8 (goal
>= 0.99 both for this layer) and throughput in MB/s per core (goals: ours >= 1.5x datasketch, >= 1.0x
rensa). Shingling is the same word 5-grams for all three, built in Python for the two libraries.
Session and Python worker start-up are not timed (a run's read stage has paid them before dedup).
Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

NGRAM, PERM, THRESHOLD = 5, 128, 0.8


def make_corpus(n_docs: int, n_words: int, seed: int = 0) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(documents as (id, text), planted pairs)."""
    rng = random.Random(seed)
    vocab = [f"{w}{i}" for i, w in enumerate(["tor", "vel", "mar", "lin", "ost", "pra", "quen", "sol"] * 2500)]
    weights = [1.0 / (i + 1) ** 0.8 for i in range(len(vocab))]  # Zipf-like word frequencies
    docs, planted = [], []
    n_base = int(n_docs / 1.25)
    for i in range(n_base):
        words = rng.choices(vocab, weights, k=n_words)
        docs.append((f"b{i:07d}", " ".join(words)))
        if i % 4 == 0:  # a near copy with k words replaced: Jaccard from ~0.95 (k=1) to ~0.6 (k=10)
            k = rng.randint(1, 10)
            w2 = list(words)
            for j in rng.sample(range(n_words), k):
                w2[j] = f"new{rng.randrange(10**9)}"
            docs.append((f"v{i:07d}", " ".join(w2)))
            planted.append((f"b{i:07d}", f"v{i:07d}"))
    return docs, planted


def shingle_sets(texts: list[str]) -> list[set[str]]:
    """Word 5-gram shingles, with the same word splitting as MinHashDedup (`curation.text.word_lists`)."""
    from curation.text import word_lists

    return [{" ".join(w[i:i + NGRAM]) for i in range(max(1, len(w) - NGRAM + 1))} for w in word_lists(texts)]


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


def run_datasketch(docs):
    from datasketch import MinHash, MinHashLSH

    t = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=PERM)
    sigs = {}
    for start in range(0, len(docs), 1000):
        batch = docs[start:start + 1000]
        for (rid, _), sh in zip(batch, shingle_sets([t for _, t in batch]), strict=True):
            m = MinHash(num_perm=PERM)
            m.update_batch([s.encode("utf-8") for s in sh])
            lsh.insert(rid, m)
            sigs[rid] = m
    pairs = set()
    for rid, m in sigs.items():
        for other in lsh.query(m):
            if other != rid:
                pairs.add(tuple(sorted((rid, other))))
    return time.perf_counter() - t, pairs


def run_rensa(docs):
    """rensa (Rust) RMinHash + RMinHashLSH in one process, on the same shingles, banding 16 x 8."""
    from rensa import RMinHash, RMinHashLSH

    t = time.perf_counter()
    lsh = RMinHashLSH(threshold=THRESHOLD, num_perm=PERM, num_bands=16)
    sigs = []
    for start in range(0, len(docs), 1000):
        batch = docs[start:start + 1000]
        for i, sh in enumerate(shingle_sets([t for _, t in batch]), start):
            m = RMinHash(num_perm=PERM, seed=42)
            m.update(list(sh))
            lsh.insert(i, m)
            sigs.append(m)
    pairs = set()
    for i, m in enumerate(sigs):
        for j in lsh.query(m):
            if j != i:
                pairs.add(tuple(sorted((docs[i][0], docs[j][0]))))
    return time.perf_counter() - t, pairs


def run_ours(docs, cores: int, work: Path):
    from curation import MinHashDedup
    from curation.runner import RunContext, tuned
    from curation.steps.fused import WORK_DDL
    from dataforge.core.spark import get_spark

    spark = get_spark(f"local[{cores}]", app_name="bench-curation-minhash")
    # the corpus as the runner hands it to a dataset step: work columns, in Parquet on disk
    n = len(docs)
    table = pa.table({"_node": pa.array(range(1, n + 1), pa.int64()), "file_index": pa.array([0] * n, pa.int32()),
                      "line": pa.array(range(1, n + 1), pa.int64()), "id": [r for r, _ in docs],
                      "source": ["bench"] * n, "kind": ["text"] * n, "text": [t for _, t in docs]})
    chunk = -(-n // (cores * 4))
    (work / "input").mkdir(parents=True)
    for i in range(0, n, chunk):
        pq.write_table(table.slice(i, chunk), work / "input" / f"part-{i:08d}.parquet")
    df = spark.read.schema(WORK_DDL).parquet(str(work / "input"))
    ctx = RunContext(spark, work / "scratch", cores * 4)
    # start the JVM's executors and the Python workers before timing: a run's read stage has already
    # parsed the input through Python workers when a dataset step starts
    df.select("_node").mapInArrow(lambda batches: batches, "_node long").count()
    step = MinHashDedup(threshold=THRESHOLD, ngram=NGRAM, num_perm=PERM)
    with tuned(spark):  # the session settings the runner uses
        t = time.perf_counter()
        n_drops = step.drops(ctx, df).count()
        elapsed = time.perf_counter() - t
        edges = step.verified_edges(ctx, df).collect()
    ids = {i + 1: rid for i, (rid, _) in enumerate(docs)}
    pairs = {tuple(sorted((ids[r["a"]], ids[r["b"]]))) for r in edges}
    return elapsed, pairs, n_drops


def quality(pairs, truth_pairs, sets) -> tuple[float, float]:
    correct = {p for p in pairs if jaccard(sets[p[0]], sets[p[1]]) >= THRESHOLD}
    precision = len(correct) / len(pairs) if pairs else 1.0
    recall = len(truth_pairs & pairs) / len(truth_pairs) if truth_pairs else 1.0
    return precision, recall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=int, default=100000)
    ap.add_argument("--words", type=int, default=200)
    a = ap.parse_args()
    docs, planted = make_corpus(a.docs, a.words)
    mb = sum(len(t.encode()) for _, t in docs) / 1e6
    with tempfile.TemporaryDirectory() as d:
        t_ours, ours, n_drops = run_ours(docs, 1, Path(d))
    t_ds, theirs = run_datasketch(docs)
    t_rs, rensa_pairs = run_rensa(docs)
    sets = dict(zip([r for r, _ in docs], shingle_sets([t for _, t in docs]), strict=True))
    # truth: every pair at or above the threshold among the planted pairs and all pairs either method
    # reported (unplanted random documents share no 5-gram, so no other pair can qualify)
    candidates = set(planted) | ours | theirs | rensa_pairs
    truth = {p for p in candidates if jaccard(sets[p[0]], sets[p[1]]) >= THRESHOLD}
    p_o, r_o = quality(ours, truth, sets)
    p_d, r_d = quality(theirs, truth, sets)
    p_r, r_r = quality(rensa_pairs, truth, sets)
    print(f"corpus: {len(docs)} documents, {mb:.1f} MB, {len(planted)} planted pairs, {len(truth)} pairs with "
          f"Jaccard >= {THRESHOLD}")
    print(f"this layer (Spark local[1], {n_drops} dropped): precision {p_o:.3f}  recall {r_o:.3f}  "
          f"{t_ours:7.2f} s  {mb / t_ours:6.2f} MB/s/core")
    print(f"datasketch MinHash+MinHashLSH (1 core):        precision {p_d:.3f}  recall {r_d:.3f}  "
          f"{t_ds:7.2f} s  {mb / t_ds:6.2f} MB/s/core")
    print(f"rensa RMinHash+RMinHashLSH (1 core):           precision {p_r:.3f}  recall {r_r:.3f}  "
          f"{t_rs:7.2f} s  {mb / t_rs:6.2f} MB/s/core")
    print(f"throughput ratio (this layer / datasketch): {t_ds / t_ours:.2f}x  (goal >= 1.5x); "
          f"(this layer / rensa): {t_rs / t_ours:.2f}x  (goal >= 1.0x); quality goal >= 0.99 precision and recall "
          "for this layer (datasketch and rensa report LSH candidates, unverified)")


if __name__ == "__main__":
    main()
