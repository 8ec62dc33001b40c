"""`forge generate` on Spark: committed output, determinism across partitions, reruns, the cluster."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dataforge.backends.registry import BackendSpec
from dataforge.core.io import read_table
from dataforge.core.manifest import Manifest
from dataforge.core.records import load_metadata
from dataforge.job import GenerateOptions, run_generate
from jobs.cli import main

SPEC = Path(__file__).parent / "specs" / "tiny_qa.py"


def data_bytes(out: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))]


@pytest.fixture(scope="module")
def one_partition(spark, tmp_path_factory):
    """The tiny spec run on one partition with a fresh cache (reference output for the other tests)."""
    root = tmp_path_factory.mktemp("gen")
    manifest, stats = run_generate(SPEC, root / "p1", GenerateOptions(partitions=1, cache=str(root / "cache1")))
    return root, manifest, stats


def test_output_is_a_committed_generated_dataset(one_partition):
    root, manifest, stats = one_partition
    out = root / "p1"
    assert Manifest.read(out).id == manifest.id and manifest.kind == "generated"
    assert manifest.verify(out) == []
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "data", "dropped", "funnel.png", "manifest.json",
                                                        "quarantine"]
    assert (out / "funnel.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # per node, drawn from the summary
    rows = read_table(out).to_pylist()
    assert len(rows) == manifest.counts["records"] == stats.totals["records"]
    c = manifest.counts
    assert c["walks"] == 6 == c["records"] + c["dropped"] + c["quarantined"]
    assert manifest.config["graph"]["name"] == "tiny_qa" and manifest.config["seed"] == 0
    assert manifest.extra["summary"]["nodes"]["ask"]["in"] == 6
    meta = load_metadata(rows[0]["metadata"])["generator"]
    assert meta["walk"]["path"] == ["ask", "answer"] and meta["seed_doc_id"] in {"moon", "water", "bees"}
    assert rows[0]["source"] == "dataforge:tiny_qa" and rows[0]["text"].startswith("id: ")
    assert pq.read_schema(next((out / "quarantine").glob("*.parquet"))).names == [
        "id", "node", "reason", "detail", "metadata"]


def test_records_are_identical_across_partition_counts(one_partition):
    root, manifest, _ = one_partition
    m3, stats = run_generate(SPEC, root / "p3", GenerateOptions(partitions=3, cache=str(root / "cache3")))
    assert stats.totals["cache_hits"] == 0 and stats.totals["partitions"] == 3
    assert data_bytes(root / "p3") == data_bytes(root / "p1")
    assert m3.id == manifest.id


def test_one_backend_per_executor_process_not_per_partition(one_partition):
    root, _, _ = one_partition
    fresh = BackendSpec(batch_size=3)  # a spec no worker has built yet
    m, stats = run_generate(SPEC, root / "p6", GenerateOptions(partitions=6, cache=str(root / "cache1"),
                                                               backend=fresh, emit_calls=True))
    executors = m.extra["executors"]
    assert sum(e["partitions"] for e in executors.values()) == 6
    assert len(executors) < 6  # Python workers are reused across partitions...
    assert all(e["backend_loads"] == 1 for e in executors.values())  # ...and build the backend once each
    assert m.extra["backend_instances"] == len(executors)
    calls = read_table(root / "p6" / "calls").to_pylist()  # --emit-calls: each LLM call as an SFT record
    assert len(calls) == 2 * m.counts["records"] and calls[0]["messages"][-1]["role"] == "assistant"


def test_cli_rerun_makes_zero_llm_calls_and_same_bytes(one_partition, capsys):
    root, manifest, stats = one_partition
    out = root / "again"
    rc = main(["generate", str(SPEC), "--out", str(out), "--cache", str(root / "cache1"), "--partitions", "2"])
    assert rc == 0
    again = Manifest.read(out)
    assert again.counts["llm_calls"] == 0 and again.counts["cache_hits"] == stats.totals["llm_calls"]
    assert again.id == manifest.id and data_bytes(out) == data_bytes(root / "p1")
    assert "0 LLM calls (everything from the cache)" in capsys.readouterr().err


def test_rerun_into_its_own_out_is_a_noop_and_another_config_needs_overwrite(one_partition, capsys):
    from tests.reliability.conftest import snapshot

    root, manifest, _ = one_partition
    out, before = root / "p1", snapshot(root / "p1")
    args = ["generate", str(SPEC), "--out", str(out), "--cache", str(root / "cache1")]
    assert main([*args, "--partitions", "2"]) == 0
    assert snapshot(out) == before  # same id: nothing replaced (manifest.json keeps its created_at)
    capsys.readouterr()
    assert main([*args, "--seed", "5"]) == 2
    assert f"holds generated output {manifest.id}" in capsys.readouterr().err and snapshot(out) == before


def test_a_bad_spec_fails_with_one_line_and_a_bad_seed_row_is_quarantined(tmp_path, capsys):
    spec = tmp_path / "noseeds.py"
    spec.write_text(SPEC.read_text().replace("seeds = [", "other = ["))
    assert main(["generate", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "defines no `seeds`" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    bad = tmp_path / "badseeds.py"
    (tmp_path / "seeds.jsonl").write_text('{"id": "a", "text": "ok"}\n{"id": "b"}\n{"id": "c", "text": "fine"\n')
    bad.write_text(SPEC.read_text().split("seeds = [")[0] + 'seeds = "seeds.jsonl"\nwalks = 6\n')
    assert main(["generate", str(bad), "--out", str(tmp_path / "o")]) == 0
    assert "2 seed row(s) quarantined as bad_seed" in capsys.readouterr().err
    m = Manifest.read(tmp_path / "o")
    # walk k of seed i is walk k*3+i: seed a (i=0) gets walks 0 and 3, the bad rows' walks are not run
    assert m.counts["seeds"] == 3 and m.counts["bad_seeds"] == 2 and m.counts["walks"] == 2
    rows = read_table(tmp_path / "o" / "quarantine").to_pylist()
    bad_rows = sorted(r["detail"] for r in rows if r["reason"] == "bad_seed")
    assert len(bad_rows) == 2
    assert any("seeds.jsonl[1]: Document.text: Field required" in d for d in bad_rows)
    assert any("seeds.jsonl[2]: not valid JSON" in d for d in bad_rows)
    assert all(r["node"] == "seed" for r in rows if r["reason"] == "bad_seed")


@pytest.mark.cluster
def test_spark_submit_on_the_standalone_cluster_matches_local(cluster, one_partition, tmp_path):
    root, manifest, _ = one_partition
    out = tmp_path / "cluster-out"
    proc = cluster.submit("jobs/generate.py", str(SPEC), "--out", str(out), "--cache", str(tmp_path / "c"),
                          "--partitions", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = Manifest.read(out)
    assert m.counts["llm_calls"] > 0  # a fresh cache: the executors really generated
    # Same rows in the same order, and the same dataset id (bytes may differ between JVMs: see job.py).
    assert read_table(out).to_pylist() == read_table(root / "p1").to_pylist()
    assert m.id == manifest.id
    assert json.loads((out / "manifest.json").read_text())["kind"] == "generated"


def test_backend_spec_round_trips_through_json():
    spec = BackendSpec(kind="openai", model="m", options={"base_url": "http://127.0.0.1:1/v1"})
    assert BackendSpec.model_validate_json(spec.model_dump_json()) == spec


def test_the_call_cache_holds_a_few_compacted_files_not_a_file_per_call(one_partition):
    from dataforge.cache import CallCache

    root, manifest, _ = one_partition
    cache = CallCache(root / "cache1")
    files = [p for p in cache.root.rglob("*") if p.is_file()]
    assert cache.count() == manifest.counts["llm_calls"] > 0
    assert files and all(p.name == "compact.kv" for p in files)  # segments merged, locks released
    assert len(files) <= 16  # one per key shard, however many calls


SEEDED = """
from dataforge import Document, FunctionNode, Graph, Struct

class Shout(Struct):
    id: str
    text: str

graph = Graph("shout", Document, [FunctionNode("shout", Document, Shout, lambda d: {"text": d.text.upper()})])
seeds = "seeds"
walks = 40
"""


def test_seeds_read_by_executors_give_the_same_id_for_1_and_5_partitions(spark, tmp_path):
    (tmp_path / "seeds").mkdir()
    for f in range(3):
        (tmp_path / "seeds" / f"part-{f}.jsonl").write_text(
            "".join(json.dumps({"id": f"d{f}-{i}", "text": f"doc {f} {i}"}) + "\n" for i in range(5)))
    spec = tmp_path / "shout.py"
    spec.write_text(SEEDED)
    ids = set()
    for n in (1, 5):
        m, stats = run_generate(spec, tmp_path / f"o{n}", GenerateOptions(partitions=n, use_cache=False))
        assert stats.totals["partitions"] == n and m.counts["seeds"] == 15 and m.counts["records"] == 40
        ids.add(m.id)
        rows = read_table(tmp_path / f"o{n}").to_pylist()
        assert sorted(load_metadata(r["metadata"])["generator"]["walk"]["index"] for r in rows).count(2) == 10
    assert len(ids) == 1


def test_seeds_behind_a_uri_are_listed_and_read_through_its_filesystem(spark, tmp_path):
    import gzip

    (tmp_path / "seeds" / "more").mkdir(parents=True)
    (tmp_path / "seeds" / "part-0.jsonl").write_text(
        "".join(json.dumps({"id": f"a{i}", "text": f"doc a {i}"}) + "\n" for i in range(4)))
    with gzip.open(tmp_path / "seeds" / "more" / "part-1.jsonl.gz", "wt") as f:
        f.write("".join(json.dumps({"id": f"b{i}", "text": f"doc b {i}"}) + "\n" for i in range(3)))
    (tmp_path / "seeds" / "_SUCCESS.jsonl").write_text("not a seed\n")  # hidden: skipped
    local, remote = tmp_path / "local.py", tmp_path / "remote.py"
    local.write_text(SEEDED.replace("walks = 40", "walks = 10"))
    remote.write_text(SEEDED.replace("walks = 40", "walks = 10").replace(
        'seeds = "seeds"', f'seeds = "{(tmp_path / "seeds").as_uri()}"'))
    ml, _ = run_generate(local, tmp_path / "out-local", GenerateOptions(partitions=2, use_cache=False))
    mr, _ = run_generate(remote, tmp_path / "out-uri", GenerateOptions(partitions=2, use_cache=False))
    assert mr.counts["seeds"] == 7 and mr.counts["records"] == 10
    assert read_table(tmp_path / "out-uri").to_pylist() == read_table(tmp_path / "out-local").to_pylist()
    assert mr.config["seeds"] == ml.config["seeds"]


def test_a_uri_pyarrow_cannot_open_is_one_line(tmp_path, capsys):
    spec = tmp_path / "shout.py"
    spec.write_text(SEEDED.replace('seeds = "seeds"', 'seeds = "nosuchfs://bucket/seeds"'))
    assert main(["generate", str(spec), "--out", str(tmp_path / "o")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("forge: error: nosuchfs://bucket/seeds: cannot open this filesystem")
    assert not (tmp_path / "o").exists()
