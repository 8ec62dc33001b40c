"""Semantic dedup: cosine similarity of MiniLM embeddings, compared within pivot buckets only.

Every document is embedded once (the model loads once per partition). A few documents chosen by a
stable hash serve as pivots; each document joins the buckets of its `probes` nearest pivots, and
only documents sharing a bucket are compared, so the work grows like n * bucket size instead of n^2.
Pairs at or above the threshold become edges; clusters are their connected components and the
smallest (id, position) of each survives.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import Field

from curation.steps.base import DatasetStep


def bucket_pairs(nodes: np.ndarray, vecs: np.ndarray, threshold: float, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (a < b) of one bucket with cosine >= threshold (vectors are unit length)."""
    out_a, out_b = [], []
    n = len(nodes)
    for i in range(0, n, block):
        sims = vecs[i:i + block] @ vecs.T
        ii, jj = np.nonzero(sims >= threshold)
        ii += i
        keep = ii < jj
        out_a.append(nodes[ii[keep]])
        out_b.append(nodes[jj[keep]])
    if not out_a:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_a), np.concatenate(out_b)


class SemanticDedup(DatasetStep):
    """Drop documents whose embedding is within cosine `threshold` of another's (packaged MiniLM).

    Args:
        threshold: cosine similarity at which two documents are duplicates.
        pivots: number of pivot buckets; about sqrt(n)/2 when None.
        probes: buckets each document joins (more probes: better recall, more comparisons).
        batch_size: texts per embedding forward pass.
        max_tokens: tokens embedded per document.
    Example:
        SemanticDedup(threshold=0.7)
    """

    threshold: float = Field(0.7, gt=0, le=1)
    pivots: int | None = Field(None, ge=1)
    probes: int = Field(2, ge=1)
    batch_size: int = Field(32, ge=1)
    max_tokens: int = Field(256, ge=8)

    def _embed_mapper(self):
        batch_size, max_tokens = self.batch_size, self.max_tokens

        def run(batches):
            import pyarrow as pa

            from dataforge.core.embeddings import Embedder

            embedder = Embedder(batch_size=batch_size, max_length=max_tokens)
            for b in batches:
                vecs = embedder.embed(b.column("text").to_pylist())
                # rounding makes the similarity test insensitive to batch-shape float noise
                vecs = np.round(vecs, 5).astype(np.float32)
                yield pa.RecordBatch.from_pydict({"_node": b.column("_node"),
                                                  "emb": pa.array(list(vecs), pa.list_(pa.float32()))})

        return run

    def edges(self, ctx, df) -> Any:
        from pyspark.sql import functions as F

        emb = ctx.checkpoint(df.select("_node", "text").mapInArrow(self._embed_mapper(), "_node long, emb array<float>"),
                             "semantic-emb")
        n = emb.count()
        k = self.pivots or max(1, round(math.sqrt(n) / 2))
        # pivots: the k documents with the smallest hash of their position (same for any partitioning)
        rows = emb.orderBy(F.xxhash64("_node"), "_node").limit(k).select("emb").collect()
        pivots = np.array([r["emb"] for r in rows], dtype=np.float32).reshape(len(rows), -1)
        probes, threshold = min(self.probes, len(rows)), self.threshold

        def assign(batches):
            import pyarrow as pa

            for b in batches:
                vecs = np.array(b.column("emb").to_pylist(), dtype=np.float32).reshape(b.num_rows, -1)
                near = np.argsort(-(vecs @ pivots.T), axis=1, kind="stable")[:, :probes]
                nodes = b.column("_node").to_numpy()
                yield pa.RecordBatch.from_pydict({
                    "_node": pa.array(np.repeat(nodes, probes), pa.int64()),
                    "bucket": pa.array(near.reshape(-1).astype(np.int32), pa.int32()),
                    "emb": pa.array([v for v in vecs for _ in range(probes)], pa.list_(pa.float32())),
                })

        buckets = emb.mapInArrow(assign, "_node long, bucket int, emb array<float>")

        def compare(key, pdf):
            import pandas as pd

            nodes = pdf["_node"].to_numpy(dtype=np.int64)
            order = np.argsort(nodes)
            vecs = np.stack(pdf["emb"].to_numpy())[order].astype(np.float32)
            a, b = bucket_pairs(nodes[order], vecs, threshold)
            return pd.DataFrame({"a": a, "b": b})

        return buckets.groupBy("bucket").applyInPandas(compare, "a long, b long").distinct()

    def drops(self, ctx, df):
        from curation.dedup.components import drops_from_edges

        return drops_from_edges(ctx, df, self.edges(ctx, df), "semantic_dup")
