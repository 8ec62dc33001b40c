"""Exact dedup: records whose normalized text hashes the same; the smallest (id, position) survives."""

from __future__ import annotations

from curation.steps.base import DatasetStep


class ExactDedup(DatasetStep):
    """Drop records whose text equals another's after normalization (NFKC, lowercase, whitespace).

    Args:
        normalize: hash the normalized text (True) or the raw text (False).
    Example:
        pipeline = [ExactDedup(), GopherQualityFilter()]
    """

    normalize: bool = True

    def drops(self, ctx, df):
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        normalize = self.normalize

        def content_hash(batches):
            import hashlib

            import pyarrow as pa

            from curation.text import normalize as norm

            for b in batches:
                texts = b.column("text").to_pylist()
                hs = [hashlib.sha256((norm(t) if normalize else t).encode("utf-8")).hexdigest() for t in texts]
                yield pa.RecordBatch.from_pydict({"_node": b.column("_node"), "id": b.column("id"),
                                                  "h": pa.array(hs, pa.string())})

        hashed = df.select("_node", "id", "text").mapInArrow(content_hash, "_node long, id string, h string")
        w = Window.partitionBy("h").orderBy("id", "_node")
        ranked = hashed.withColumn("rank", F.row_number().over(w)).withColumn("keep_id", F.first("id").over(w))
        return ranked.filter("rank > 1").select("_node", F.lit("exact_dup").alias("reason"),
                                                F.col("keep_id").alias("cluster_id"))
