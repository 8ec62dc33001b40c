"""MinHash near-duplicate removal: signatures, LSH banding, verification and components, in Spark.

Signatures are computed per Arrow batch with numpy (word n-gram shingles hashed once per distinct word;
one multiply-shift hash per permutation, min-reduced per document). Every band of every document
becomes a row (band, bucket key, node); buckets are found with a groupBy, candidate pairs are checked
against the threshold (exact Jaccard of the shingle sets by default), and clusters are the connected
components of the verified pairs (`curation.dedup.components`).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from curation.steps.base import DatasetStep
from curation.text import TokenHasher, ngram_hashes, splitmix64, to_signed, words

_MAX_CELLS = 1 << 22  # permutations x shingles per numpy chunk (32 MiB of uint64)


def choose_bands(threshold: float, num_perm: int, recall: float = 0.98) -> tuple[int, int]:
    """(bands, rows): the longest bands that still make a pair at `threshold` a candidate with
    probability >= `recall` (candidates are verified afterwards, so missed pairs cost more than extras).
    """
    best = (num_perm, 1)
    for r in range(1, num_perm + 1):
        b = num_perm // r
        if b < 1:
            break
        if 1 - (1 - threshold**r) ** b >= recall:
            best = (b, r)
    return best


class MinHasher:
    """Word n-gram MinHash signatures, vectorized over a batch of documents.

    Args:
        num_perm: signature length.
        ngram: words per shingle (a document shorter than that is one shingle).
        seed: picks the hash functions; the same seed gives the same signatures everywhere.
    Example:
        sig = MinHasher(128, 5).signatures(["a b c d e f", "a b c d e g"])  # (2, 128) uint32
    """

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 1):
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, 2**63, num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        self.b = rng.integers(0, 2**63, num_perm, dtype=np.uint64)
        self.num_perm, self.ngram = num_perm, ngram
        self.hasher = TokenHasher()

    def shingles(self, text: str) -> np.ndarray:
        """Unique uint64 shingle hashes of one document."""
        return np.unique(ngram_hashes(self.hasher.hashes(words(text)), self.ngram))

    def signatures(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(signatures uint32 of shape (n, num_perm), mask of documents that had any word)."""
        sh = [ngram_hashes(self.hasher.hashes(words(t)), self.ngram) for t in texts]
        return self.signatures_of(sh)

    def signatures_of(self, shingle_sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        n = len(shingle_sets)
        sig = np.full((n, self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        has = np.array([len(s) > 0 for s in shingle_sets], dtype=bool)
        idx = np.flatnonzero(has)
        start = 0
        while start < len(idx):  # chunks of documents whose shingles fit the cell budget
            stop, cells = start, 0
            while stop < len(idx) and (cells == 0 or cells + len(shingle_sets[idx[stop]]) * self.num_perm <= _MAX_CELLS):
                cells += len(shingle_sets[idx[stop]]) * self.num_perm
                stop += 1
            chunk = [shingle_sets[i] for i in idx[start:stop]]
            flat = np.concatenate(chunk)
            offsets = np.cumsum([0] + [len(c) for c in chunk[:-1]])
            with np.errstate(over="ignore"):
                h = (self.a[:, None] * flat[None, :] + self.b[:, None]) >> np.uint64(32)
            sig[idx[start:stop]] = np.minimum.reduceat(h.astype(np.uint32), offsets, axis=1).T
            start = stop
        return sig, has


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 bucket keys: a hash of each band's rows and the band's index."""
    n = sig.shape[0]
    keys = np.empty((n, bands), dtype=np.uint64)
    s = sig.astype(np.uint64)
    with np.errstate(over="ignore"):
        for j in range(bands):
            acc = np.full(n, np.uint64(j) * np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
            for t in range(rows):
                acc = splitmix64(acc ^ s[:, j * rows + t])
            keys[:, j] = acc
    return keys


class MinHashDedup(DatasetStep):
    """Drop near-duplicates: documents whose word n-gram Jaccard similarity reaches `threshold`.

    Args:
        threshold: Jaccard similarity at which two documents are duplicates.
        ngram: words per shingle.
        num_perm: MinHash signature length.
        bands, rows: LSH banding (bands * rows <= num_perm); chosen from threshold when None.
        verify: check candidate pairs by "exact" Jaccard of shingle sets, by "signature" agreement,
            or "none" (every bucket collision is a duplicate).
        max_bucket_pairs: buckets up to this size are checked pairwise; larger ones (floods of copies)
            link each member to the bucket's smallest node.
        seed: picks the hash functions.
    Example:
        MinHashDedup(threshold=0.8, ngram=5, num_perm=128)
    """

    threshold: float = Field(0.8, gt=0, le=1)
    ngram: int = Field(5, ge=1)
    num_perm: int = Field(128, ge=8, le=1024)
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    verify: Literal["exact", "signature", "none"] = "exact"
    max_bucket_pairs: int = Field(64, ge=2)
    seed: int = 1

    @model_validator(mode="after")
    def _banding(self):
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither")
        if self.bands is None:
            self.bands, self.rows = choose_bands(self.threshold, self.num_perm)
        if self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands * rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self

    def _signature_mapper(self):
        num_perm, ngram, seed, bands, rows = self.num_perm, self.ngram, self.seed, self.bands, self.rows

        def run(batches):
            import pyarrow as pa

            hasher = MinHasher(num_perm, ngram, seed)
            for batch in batches:
                nodes = batch.column("_node").to_numpy()
                sig, has = hasher.signatures(batch.column("text").to_pylist())
                keys = band_keys(sig[has], bands, rows)
                sig_i = sig[has].view(np.int32)
                yield pa.RecordBatch.from_pydict({
                    "_node": pa.array(nodes[has], pa.int64()),
                    "sig": pa.array(list(sig_i), pa.list_(pa.int32())),
                    "keys": pa.array(list(to_signed(keys)), pa.list_(pa.int64())),
                })

        return run

    def candidate_edges(self, ctx, df):
        """Candidate pairs (a, b) from LSH buckets, plus the signature frame."""
        from pyspark.sql import functions as F

        sigs = ctx.checkpoint(df.select("_node", "text").mapInArrow(
            self._signature_mapper(), "_node long, sig array<int>, keys array<long>"), "minhash-sig")
        rows = sigs.select("_node", F.posexplode("keys").alias("band", "key"))
        buckets = rows.groupBy("band", "key").agg(F.count(F.lit(1)).alias("n"), F.min("_node").alias("first"))
        buckets = buckets.filter("n > 1")
        members = rows.join(buckets, ["band", "key"])
        small = (members.filter(F.col("n") <= self.max_bucket_pairs).groupBy("band", "key")
                 .agg(F.sort_array(F.collect_list("_node")).alias("ns")))
        pairs = small.select(F.explode(F.expr(
            "flatten(transform(ns, (x, i) -> transform(slice(ns, i + 2, size(ns)), y -> named_struct('a', x, 'b', y))))"
        )).alias("p")).select("p.a", "p.b")
        star = (members.filter(F.col("n") > self.max_bucket_pairs).filter(F.col("_node") != F.col("first"))
                .select(F.col("_node").alias("a"), F.col("first").alias("b")))
        return pairs.unionByName(star).distinct(), sigs

    def verified_edges(self, ctx, df):
        """Pairs (a, b) judged duplicates, after verification."""
        from pyspark.sql import functions as F

        edges, sigs = self.candidate_edges(ctx, df)
        edges = ctx.checkpoint(edges, "minhash-candidates")
        if self.verify == "none":
            return edges
        if self.verify == "signature":
            s = sigs.select("_node", "sig")
            j = (edges.join(s.withColumnRenamed("_node", "a").withColumnRenamed("sig", "sa"), "a")
                 .join(s.withColumnRenamed("_node", "b").withColumnRenamed("sig", "sb"), "b"))
            agree = F.expr("size(filter(zip_with(sa, sb, (x, y) -> x = y), z -> z))")
            return j.filter(agree >= F.lit(self.threshold * self.num_perm)).select("a", "b")
        nodes = edges.select(F.col("a").alias("_node")).unionByName(edges.select(F.col("b").alias("_node"))).distinct()
        ngram = self.ngram

        def shingle_sets(batches):
            import pyarrow as pa

            hasher = TokenHasher()
            for batch in batches:
                sets = [to_signed(np.unique(ngram_hashes(hasher.hashes(words(t)), ngram)))
                        for t in batch.column("text").to_pylist()]
                yield pa.RecordBatch.from_pydict({"_node": batch.column("_node"),
                                                  "sh": pa.array([list(s) for s in sets], pa.list_(pa.int64()))})

        sets = ctx.checkpoint(df.select("_node", "text").join(nodes, "_node").mapInArrow(
            shingle_sets, "_node long, sh array<long>"), "minhash-sets")
        j = (edges.join(sets.withColumnRenamed("_node", "a").withColumnRenamed("sh", "sa"), "a")
             .join(sets.withColumnRenamed("_node", "b").withColumnRenamed("sh", "sb"), "b"))
        inter = F.size(F.array_intersect("sa", "sb"))
        union = F.size("sa") + F.size("sb") - inter
        return j.filter(inter >= F.lit(self.threshold) * union).select("a", "b")

    def drops(self, ctx, df):
        from curation.dedup.components import drops_from_edges

        return drops_from_edges(ctx, df, self.verified_edges(ctx, df), "minhash_dup")
