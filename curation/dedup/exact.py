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

        from curation.text import normalize as norm

        if self.normalize:
            key = F.udf(lambda t: norm(t), "string")(F.col("text"))
        else:
            key = F.col("text")
        hashed = df.select("_node", "id", F.sha2(key, 256).alias("h"))
        w = Window.partitionBy("h").orderBy("id", "_node")
        ranked = hashed.withColumn("rank", F.row_number().over(w)).withColumn("keep_id", F.first("id").over(w))
        return ranked.filter("rank > 1").select("_node", F.lit("exact_dup").alias("reason"),
                                                F.col("keep_id").alias("cluster_id"))
