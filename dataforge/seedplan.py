"""Seeds read and walks planned on executors: a corpus of seeds never passes through the driver.

A spec whose `seeds` is a path (a JSONL/Parquet file or folder, or an engine dataset; local or a URI
such as s3://bucket/seeds that pyarrow's filesystems read) is read by executors, a task per file; the driver handles only the file list and a row count per file. Every
seed gets its ordinal (the files in sorted order, rows in file order), so walk k of seed i is walk
`k * n + i` of the run (`dataforge.walk.plan_walks`'s round-robin) whatever the partitioning; its path
is drawn from (global seed, seed id, k) as everywhere, and with quotas paths are dealt by rank of the
walks' hashes, computed with a Spark sort. A seed row that is not a valid source struct is
quarantined with its reason (`bad_seed`), never dropped and never stopping the run. Seeds given as a
list or a taxonomy (small, made on the driver) take the same path from `parallelize`.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.records.files import open_text, record_files
from dataforge.core.records.remote import is_uri, open_uri_text, read_parquet_uri, uri_files
from dataforge.graph import Graph
from dataforge.spec import seed_struct
from dataforge.walk import largest_remainder, path_targets, sample_path, walk_id, walk_key, walk_rng

BAD_SEED = "bad_seed"


@dataclass
class PlannedWalks:
    """Plan rows (JSON: id, key, seed_id, index, path, seed) and quarantined seed rows, as RDDs."""

    plans: Any
    bad_seeds: Any
    seeds: int
    walks: int  # walks of the run (`--walks`, default one per seed), bad seeds' share included


def seed_files(path: Path | str) -> list[str]:
    """The seed record files at a local path or a URI (`dataforge.core.records.remote`), sorted."""
    if is_uri(path):
        out = [u for u, _ in uri_files(path)]
        if not out:
            raise ForgeError(f"{path}: no seed records (JSONL, JSONL.gz/.bz2/.zst or Parquet)")
        return out
    files = record_files(path)
    out = sorted(str(p) for fmt in ("jsonl", "parquet") for p in files.get(fmt, []))
    if not out:
        raise ForgeError(f"{path}: no seed records (JSONL, JSONL.gz/.bz2/.zst or Parquet, or a dataset directory)")
    return out


def _read(path: str):
    """(row number, decoded row or None, raw text for a bad line) of one seed file, in file order."""
    remote = is_uri(path)
    if path.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = read_parquet_uri(path) if remote else pq.read_table(path)
        for n, row in enumerate(table.to_pylist()):
            yield n, row, None
        return
    with open_uri_text(path) if remote else open_text(path) as f:
        n = 0
        for line in f:
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), None
            except json.JSONDecodeError as e:
                yield n, None, f"not valid JSON ({e.msg})"
            n += 1


def _count(path: str) -> int:
    return sum(1 for _ in _read(path))


def _checked(graph: Graph, where: str, n: int, row: Any, error: str | None) -> tuple[str, Any]:
    """("ok", (seed id, seed JSON)) or ("bad", quarantine row)."""
    from dataforge.engine import seed_id_of

    if error is None:
        try:
            value = seed_struct(graph.source, row, f"{where}[{n}]")
            return "ok", (seed_id_of(value), value.model_dump_json())
        except ForgeError as e:
            detail = str(e)
    else:
        detail = f"{where}[{n}]: {error}"
    raw = row if row is not None else {}
    return "bad", {"id": stable_hash([where, n], 32), "node": "seed", "reason": BAD_SEED, "detail": detail[:2000],
                   "metadata": json.dumps({"seed_file": where, "row": n, "seed": raw}, ensure_ascii=False,
                                          default=str)}


def _file_rows(graph: Graph, path: str, offset: int):
    """(ordinal, checked row) of every row of one seed file, on an executor."""
    from dataforge.core.secrets import redact_text

    where = redact_text(path)  # a URI's `user:pass@` never reaches a quarantine row or its id
    return ((offset + n, _checked(graph, where, n, row, err)) for n, row, err in _read(path))


def _source(spark, graph: Graph, seeds: Any, base: Path | None):
    """RDD of (ordinal, ("ok", (id, json)) | ("bad", row)) and the number of seeds."""
    sc = spark.sparkContext
    if isinstance(seeds, (str, Path)):
        root = seeds if is_uri(seeds) else Path(seeds) if Path(seeds).is_absolute() or base is None else base / seeds
        if not is_uri(root) and not root.exists():
            raise ForgeError(f"{root}: seed file not found (paths are relative to the spec file)")
        files = seed_files(root)
        counts = sc.parallelize(files, len(files)).map(_count).collect()  # one number per file
        offsets = [sum(counts[:i]) for i in range(len(files))]
        rows = sc.parallelize(list(zip(files, offsets, strict=True)), len(files)).flatMap(
            lambda fo: _file_rows(graph, *fo))
        return rows, sum(counts)
    from dataforge.spec import resolve_seeds

    values = resolve_seeds(seeds, graph, base=base)  # a list or a taxonomy: small, made here
    from dataforge.engine import seed_id_of

    items = [(i, ("ok", (seed_id_of(v), v.model_dump_json()))) for i, v in enumerate(values)]
    return sc.parallelize(items, max(1, min(len(items), sc.defaultParallelism))), len(items)


def plan_seeds(spark, graph: Graph, seeds: Any, *, base: Path | None, walks: int | None, seed: int) -> PlannedWalks:
    """Read, check and number the seeds and plan every walk, all on executors."""
    rows, n = _source(spark, graph, seeds, base)
    if n == 0:
        raise ForgeError(f"{seeds}: no seeds")
    total = walks or n
    good = rows.filter(lambda r: r[1][0] == "ok").map(lambda r: (r[0], *r[1][1]))  # (ordinal, id, json)
    dup = good.map(lambda g: (g[1], 1)).reduceByKey(lambda a, b: a + b).filter(lambda kv: kv[1] > 1).take(1)
    if dup:
        raise ForgeError(f"seed id {dup[0][0]!r} appears more than once; seed ids must be unique")
    gid = graph.id

    def walks_of(g):
        i, sid, body = g
        for k in range((total - i + n - 1) // n if i < total else 0):  # walks k*n + i < total
            yield sid, k, body

    keyed = good.flatMap(walks_of)
    if graph.quotas:
        counts = largest_remainder(path_targets(graph), total)
        paths = sorted(counts)
        bounds = [sum(counts[p] for p in paths[: j + 1]) for j in range(len(paths))]
        ranked = keyed.sortBy(lambda w: (stable_hash([seed, w[0], w[1]], 16), w[0], w[1])).zipWithIndex()
        with_path = ranked.map(lambda wr: (*wr[0], paths[bisect.bisect_right(bounds, wr[1])]))
    else:
        with_path = keyed.map(lambda w: (*w, sample_path(graph, walk_rng(seed, w[0], w[1]))))
    plans = with_path.map(lambda w: json.dumps({
        "id": walk_id(gid, seed, w[0], w[1]), "key": walk_key(seed, w[0], w[1]), "seed_id": w[0],
        "index": w[1], "path": list(w[3]), "seed": w[2]}))
    bad = rows.filter(lambda r: r[1][0] == "bad").map(lambda r: json.dumps(r[1][1], ensure_ascii=False))
    return PlannedWalks(plans=plans, bad_seeds=bad, seeds=n, walks=total)
