"""The segment store behind the call cache and the exposure ledger."""

from __future__ import annotations

import hashlib

from dataforge.core.segments import COMPACT, SegmentStore


def key(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()[:40]


def test_writers_append_to_their_own_files_and_readers_see_every_entry(tmp_path):
    a, b = SegmentStore(tmp_path, writer="a"), SegmentStore(tmp_path, writer="b")
    for i in range(200):
        (a if i % 2 else b).put(key(i), f'{{"v": {i}}}')
    a.put(key(1), '{"v": 1}')  # the same key stored twice: one value
    reader = SegmentStore(tmp_path, writer="r")
    got = reader.get_many([key(i) for i in range(201)])
    assert len(got) == 200 and got[key(1)] == ['{"v": 1}'] and key(200) not in got
    assert len({p.parent for p in tmp_path.rglob("seg-*")}) <= 16  # files per writer and shard
    assert len(list(tmp_path.rglob("seg-*"))) <= 32


def test_a_torn_last_line_is_ignored_and_the_entries_before_it_kept(tmp_path):
    w = SegmentStore(tmp_path, writer="w")
    w.put(key(1), '"one"')
    seg = next(tmp_path.rglob("seg-*"))
    with open(seg, "ab") as f:
        f.write(f"{key(1)[:1]}ff\t\"torn".encode())  # a writer killed mid-line
    assert SegmentStore(tmp_path).get(key(1)) == '"one"'


def test_compaction_merges_sealed_segments_into_sorted_files_found_by_bisection(tmp_path):
    w = SegmentStore(tmp_path, writer="w")
    for i in range(500):
        w.put(key(i), f'"{i}"')
    live = SegmentStore(tmp_path, writer="live")
    live.put(key(1000), '"live"')  # another writer still appending: its open segment is left alone
    w.close()
    assert w.compact_all() > 0
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file() and p.name != COMPACT) == \
        ["seg-live.open"]
    for shard in tmp_path.iterdir():
        lines = (shard / COMPACT).read_text().splitlines()
        assert lines == sorted(lines)
    fresh = SegmentStore(tmp_path)
    assert all(fresh.get(key(i)) == f'"{i}"' for i in range(0, 500, 7))
    assert fresh.get(key(1000)) == '"live"' and fresh.get(key(5000)) is None
    assert len({k for k, _ in fresh.entries()}) == 501


def test_a_shard_being_compacted_elsewhere_is_left_to_that_compaction(tmp_path):
    from dataforge.core.lock import OutputLock

    w = SegmentStore(tmp_path, writer="w")
    w.put("a" * 40, '"x"')
    w.close()
    with OutputLock(tmp_path / "a" / COMPACT, verb="compact"):
        assert w.compact("a") == 0
    assert w.compact("a") == 1 and SegmentStore(tmp_path).get("a" * 40) == '"x"'
