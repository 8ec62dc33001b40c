"""Connected components and survivor choice.

A graph of up to `DRIVER_EDGES` edges (dedup pairs: two longs each, no text) is collected once and
solved on the driver with scipy; larger graphs stay distributed, in the alternating large-star / small-star rounds of Kiveris et al. (2014), "Connected
Components in MapReduce and Beyond": every round is a groupBy and a join over the edge list, so no
stage holds a whole component or the pair list in one task, and the rounds converge in O(log^2 n).
At the fixed point every edge joins a node to the smallest node of its component.
The survivor of a cluster is its record with the smallest (id, input position): a stable rule, so the
result is the same for any partitioning or number of executors.
"""

from __future__ import annotations

import numpy as np

MAX_ROUNDS = 64
# Larger edge lists stay distributed. 2 x 8 bytes an edge: 16 MB on the driver at this size.
DRIVER_EDGES = 1_000_000


def _norm(df, a: str = "a", b: str = "b"):
    """Undirected edges as (hi, lo) with hi > lo, deduplicated."""
    from pyspark.sql import functions as F

    return (df.select(F.greatest(a, b).alias("hi"), F.least(a, b).alias("lo"))
            .filter("hi != lo").distinct())


def _large_star(e):
    from pyspark.sql import functions as F

    both = e.select(F.col("hi").alias("u"), F.col("lo").alias("v")).unionByName(
        e.select(F.col("lo").alias("u"), F.col("hi").alias("v")))
    m = both.groupBy("u").agg(F.least(F.min("v"), F.first("u")).alias("m"))
    # connect every strictly larger neighbour of u to the smallest node around u
    return _norm(both.filter("v > u").join(m, "u").select(F.col("v").alias("a"), F.col("m").alias("b")))


def _small_star(e):
    from pyspark.sql import functions as F

    m = e.groupBy("hi").agg(F.min("lo").alias("m"))
    j = e.join(m, "hi")
    # connect u and its smaller neighbours to the smallest of them
    out = j.select(F.col("lo").alias("a"), F.col("m").alias("b")).unionByName(
        j.select(F.col("hi").alias("a"), F.col("m").alias("b")))
    return _norm(out)


def _fingerprint(e) -> tuple[int, int, int]:
    from pyspark.sql import functions as F

    h = F.xxhash64("hi", "lo")
    r = e.agg(F.count(F.lit(1)).alias("n"), F.bit_xor(h).alias("x"),
              F.sum(F.pmod(h, F.lit(2147483647))).alias("s")).collect()[0]
    return int(r["n"]), int(r["x"] or 0), int(r["s"] or 0)


def _is_star_forest(e) -> bool:
    """True when every edge already joins a node to its component's smallest node (the fixed point):
    each node has at most one smaller neighbour and no such neighbour has a smaller one itself.
    Dedup edges are mostly like this (pairs, or copies of one document), which saves the rounds."""
    from pyspark.sql import functions as F

    multi = e.groupBy("hi").agg(F.count(F.lit(1)).alias("k")).filter("k > 1").limit(1)
    chained = e.select("lo").join(e.select(F.col("hi").alias("lo")), "lo", "left_semi").limit(1)
    return multi.unionByName(chained.select(F.lit(0).alias("hi"), F.lit(0).alias("k"))).count() == 0


def local_components(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(node, component) arrays for an edge list held in memory; component = the smallest node in it."""
    from scipy.sparse import coo_matrix, csgraph

    nodes, idx = np.unique(np.concatenate((hi, lo)), return_inverse=True)
    k, m = len(hi), len(nodes)
    graph = coo_matrix((np.ones(k, np.int8), (idx[:k], idx[k:])), shape=(m, m))
    label = csgraph.connected_components(graph, directed=False)[1]
    # nodes are sorted, so each label's first position holds its smallest node
    first = np.unique(label, return_index=True)[1]
    return nodes, nodes[first][label]


def connected_components(ctx, edges, a: str = "a", b: str = "b", driver_edges: int = DRIVER_EDGES):
    """(node, component) for every node that has an edge; component = the smallest node in it.

    A graph of up to `driver_edges` edges (two longs each) comes to the driver in one collect and is
    solved there; only a larger one runs the Spark rounds (and computes `edges` again to store it)."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    small = _norm(edges, a, b).limit(driver_edges + 1).toArrow()
    if small.num_rows <= driver_edges:
        nodes, comp = local_components(small.column("hi").to_numpy(), small.column("lo").to_numpy())
        return ctx.spark.createDataFrame(pa.table({"node": pa.array(nodes, pa.int64()),
                                                   "component": pa.array(comp, pa.int64())}))
    e = ctx.checkpoint(_norm(edges, a, b), "cc-edges", local=True)
    if not _is_star_forest(e):
        before = _fingerprint(e)
        for _ in range(MAX_ROUNDS):
            e = ctx.checkpoint(_small_star(_large_star(e)), "cc-round", local=True)
            after = _fingerprint(e)
            if after == before:
                break
            before = after
        else:  # pragma: no cover - the rounds provably converge long before this
            raise RuntimeError("connected components did not converge")
    labels = e.select(F.col("hi").alias("node"), F.col("lo").alias("component")).unionByName(
        e.select(F.col("lo").alias("node"), F.col("lo").alias("component"))).distinct()
    return labels


def drops_from_edges(ctx, docs, edges, reason: str):
    """Rows to drop: every record of a component except its survivor (smallest id, then position).

    Args:
        docs: DataFrame with `_node` and `id`.
        edges: DataFrame of `a`, `b` node pairs judged duplicates.
    Returns: DataFrame `_node`, `reason`, `cluster_id` (the survivor's id).
    """
    from pyspark.sql import functions as F

    labels = connected_components(ctx, edges)
    members = docs.select("_node", "id").join(labels.withColumnRenamed("node", "_node"), "_node")
    survivors = members.groupBy("component").agg(F.min(F.struct("id", "_node")).alias("s"))
    return (members.join(survivors, "component")
            .filter(F.col("_node") != F.col("s._node"))
            .select("_node", F.lit(reason).alias("reason"), F.col("s.id").alias("cluster_id")))
