"""MinHash near-duplicate removal: signatures, LSH banding, verification and components, in Spark.

Signatures are computed per Arrow batch inside the executors by vectorized kernels: words split in
Arrow (`curation.text`: one byte-table pass for ASCII documents, a regex only for the others), each
distinct word hashed once, word n-gram shingles combined with numpy, and one-permutation MinHash with
optimal densification in numpy (one hash per shingle instead of one per shingle and permutation).
rensa's compiled kernel was measured in its place: its digests are faster to compute but only leave
Rust as Python lists, which costs more than the numpy kernel does (see docs/curation.md).

The text is read once: the same pass that signs a document stores one row for it, its band keys and
its verification feature (shingle hashes, or the signature), the feature as one binary value. Band
keys are exploded and grouped in one Spark query; the candidate pairs and the features of candidate
documents only are kept in executor memory, and each batch of pairs is checked by exact Jaccard of the
shingle sets (default; `curation.dedup.verify`, vectorized in numpy). Clusters are the connected
components of the verified pairs (`curation.dedup.components`: solved on the driver from the pairs
alone while the graph is small, in Spark rounds beyond that).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from curation.steps.base import DatasetStep
from curation.text import TokenHasher, batch_ngram_hashes, batch_token_hashes, splitmix64, to_signed

_EMPTY = np.uint32(0xFFFFFFFF)


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
        self.salt = splitmix64(np.array([seed], dtype=np.uint64))[0]
        self.num_perm, self.ngram = num_perm, ngram
        self.hasher = TokenHasher()

    def shingle_batch(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """(shingle hashes of all documents, concatenated; document offsets)."""
        th, offsets = batch_token_hashes(texts, self.hasher)
        return batch_ngram_hashes(th, offsets, self.ngram)

    def shingle_sets(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """(each document's distinct shingle hashes, sorted, concatenated; document offsets)."""
        return distinct_per_document(*self.shingle_batch(texts))

    def shingles(self, text: str) -> np.ndarray:
        """Unique uint64 shingle hashes of one document."""
        return self.shingle_sets([text])[0]

    def signatures(self, texts) -> tuple[np.ndarray, np.ndarray]:
        """(signatures uint32 of shape (n, num_perm), mask of documents that had any word).

        One-permutation MinHash with optimal densification (Shrivastava, ICML 2017): each shingle's
        hash picks one of `num_perm` bins and the bin keeps its minimum, so a document costs
        O(shingles + num_perm) instead of O(shingles * num_perm); an empty bin borrows the value of the
        bin that a fixed probe sequence reaches first. Two documents agree on a bin with probability
        equal to their Jaccard similarity, as with `num_perm` independent permutations.
        """
        return self.signatures_of(*self.shingle_batch(texts))

    def signatures_of(self, flat: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`signatures` of documents given as their shingle hashes (from `shingle_batch`)."""
        n, k = len(off) - 1, self.num_perm
        sig = np.full((n, k), _EMPTY, dtype=np.uint32)
        has = np.diff(off) > 0
        if len(flat):
            h = splitmix64(flat ^ self.salt)
            with np.errstate(over="ignore"):
                bins = ((h & np.uint64(0xFFFFFFFF)) * np.uint64(k)) >> np.uint64(32)
            doc = np.repeat(np.arange(n, dtype=np.int64), np.diff(off))
            np.minimum.at(sig.reshape(-1), doc * k + bins.astype(np.int64), (h >> np.uint64(32)).astype(np.uint32))
        filled = sig != _EMPTY
        d, b = np.nonzero(~filled & has[:, None])
        attempt = 0
        while len(d):  # densify: probe bins in a fixed per-bin order until a filled one
            attempt += 1
            j = self._probe(b, attempt)
            ok = filled[d, j]
            sig[d[ok], b[ok]] = sig[d[ok], j[ok]]
            d, b = d[~ok], b[~ok]
        return sig, has

    def _probe(self, bins: np.ndarray, attempt: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            x = splitmix64(bins.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(attempt) + self.salt)
            return (((x & np.uint64(0xFFFFFFFF)) * np.uint64(self.num_perm)) >> np.uint64(32)).astype(np.int64)


def distinct_per_document(flat: np.ndarray, off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each document's distinct values, sorted, concatenated; document offsets) of a flat batch."""
    doc = np.repeat(np.arange(len(off) - 1), np.diff(off))
    order = np.lexsort((flat, doc))
    flat, doc = flat[order], doc[order]
    first = np.ones(len(flat), dtype=bool)
    first[1:] = (flat[1:] != flat[:-1]) | (doc[1:] != doc[:-1])
    return flat[first], np.searchsorted(doc[first], np.arange(len(off))).astype(np.int64)


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

    def _document_mapper(self):
        """mapInArrow: per document with words, its band keys and its verification feature (the shingle
        hashes for "exact", the signature for "signature"), from one tokenization."""
        num_perm, ngram, seed, bands, rows, verify = (self.num_perm, self.ngram, self.seed, self.bands, self.rows,
                                                      self.verify)

        def run(batches):
            import pyarrow as pa

            from curation.dedup.verify import pack

            hasher = MinHasher(num_perm, ngram, seed)
            for batch in batches:
                flat, off = hasher.shingle_batch(batch.column("text"))
                sig, has = hasher.signatures_of(flat, off)
                keys = band_keys(sig[has], bands, rows)
                cols = {"_node": batch.column("_node").filter(pa.array(has)),
                        "keys": pa.ListArray.from_arrays(pa.array(np.arange(0, keys.size + 1, bands, dtype=np.int32)),
                                                  pa.array(to_signed(keys.reshape(-1))))}
                if verify == "exact":  # the shingles as they come: sets are made for candidates only
                    cols["f"] = pack(flat, off, rows=np.flatnonzero(has))
                elif verify == "signature":
                    cols["f"] = pack(sig[has].reshape(-1), np.arange(0, int(has.sum()) * num_perm + 1, num_perm))
                yield pa.RecordBatch.from_pydict(cols)

        return run

    def documents(self, ctx, df):
        """Stored rows (`_node`, `keys`, `f`): one per document with words, from one pass over the text.

        The feature column is about as large as the text for "exact", but it is written once here and
        read back only for the documents that land in a shared bucket, instead of a second pass that
        reads and tokenizes the text again."""
        schema = "_node long, keys array<long>" + ("" if self.verify == "none" else ", f binary")
        return ctx.checkpoint(df.select("_node", "text").mapInArrow(self._document_mapper(), schema), "minhash-docs")

    def candidate_edges(self, docs):
        """Candidate pairs (a, b): documents sharing a bucket in any band (`docs` from `documents`)."""
        from pyspark.sql import functions as F

        rows = docs.select("_node", F.explode("keys").alias("key"))
        # Bucket keys hash the band index in, so a key alone names a bucket. Most keys are unique and
        # most shared buckets hold two documents: a plain aggregation (count, min, max) settles those,
        # and only the members of larger buckets are gathered. Buckets up to max_bucket_pairs give all
        # their pairs; floods of copies link each member to the bucket's smallest node instead. The
        # aggregation is used twice in one query, so Spark shuffles for it once.
        shared = (rows.groupBy("key").agg(F.count(F.lit(1)).alias("n"), F.min("_node").alias("lo"),
                                          F.max("_node").alias("hi")).filter("n > 1"))
        two = shared.filter("n = 2").select(F.col("lo").alias("a"), F.col("hi").alias("b"))
        larger = (rows.join(shared.filter("n > 2").select("key"), "key").groupBy("key")
                  .agg(F.sort_array(F.collect_list("_node")).alias("ns")))
        pairs = larger.select(F.explode(F.expr(
            f"CASE WHEN size(ns) <= {int(self.max_bucket_pairs)} "
            "THEN flatten(transform(ns, (x, i) -> transform(slice(ns, i + 2, size(ns)), "
            "y -> named_struct('a', x, 'b', y)))) "
            "ELSE transform(slice(ns, 2, size(ns)), y -> named_struct('a', y, 'b', ns[0])) END"
        )).alias("p")).select("p.a", "p.b").unionByName(two)
        return pairs.distinct()

    def verified_edges(self, ctx, df):
        """Pairs (a, b) judged duplicates, after verification."""
        from pyspark.sql import functions as F

        docs = self.documents(ctx, df)
        if self.verify == "none":
            return self.candidate_edges(docs)
        # two small frames kept in executor memory, each used twice below: the pairs (two longs each)
        # and the features of the candidate documents only (one scan of the stored features)
        edges = ctx.checkpoint(self.candidate_edges(docs), "minhash-candidates", local=True)
        nodes = edges.select(F.col("a").alias("_node")).unionByName(edges.select(F.col("b").alias("_node"))).distinct()
        feats = ctx.checkpoint(docs.select("_node", "f").join(F.broadcast(nodes), "_node"), "minhash-features",
                               local=True)
        j = (edges.join(feats.withColumnRenamed("_node", "a").withColumnRenamed("f", "fa"), "a")
             .join(feats.withColumnRenamed("_node", "b").withColumnRenamed("f", "fb"), "b"))
        threshold, num_perm, exact = self.threshold, self.num_perm, self.verify == "exact"

        def run(batches):
            import pyarrow as pa

            from curation.dedup.verify import agreement_passes, jaccard_passes

            for b in batches:
                fa, fb = b.column("fa"), b.column("fb")
                ok = jaccard_passes(fa, fb, threshold) if exact else agreement_passes(fa, fb, threshold, num_perm)
                yield b.select(["a", "b"]).filter(pa.array(ok))

        return j.select("a", "b", "fa", "fb").mapInArrow(run, "a long, b long")

    def drops(self, ctx, df):
        from curation.dedup.components import drops_from_edges

        return drops_from_edges(ctx, df, self.verified_edges(ctx, df), "minhash_dup")
