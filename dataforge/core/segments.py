"""A key-value store in a few large files: key-sharded append-only segments, compacted into sorted files.

Made for stores written by many executors at once on a shared filesystem (the generator's call cache,
the rephrase exposure ledger), where one small file per entry would make 10^8 files. Layout:

    ROOT/<shard>/seg-<writer>.open     being appended by one writer (one per writer and shard)
    ROOT/<shard>/seg-<writer>.seg      sealed by its writer when it closed (renamed from .open)
    ROOT/<shard>/compact.kv            every entry of the compacted segments, sorted by key

A line is `key<TAB>value` (value: one line of JSON); keys are lowercase hex, so the shard is the
key's first hex digit (16 shards) and a sorted file is searched by bisection without an index.
Every writer appends only to its own files, flushing each entry, so writers never share a file and a
killed writer leaves every entry it finished (a torn last line is ignored). Readers look entries up
in the compacted file (bisection: no memory per entry) and in the live segments (read incrementally,
from where they were read last). `compact(shard)` merges the compacted file with the sealed segments
(and open ones whose writer stopped long ago) into a new compacted file, renamed in atomically, then
deletes the segments it merged; it holds the shard's lock, so two compactions never race. The same
key may be stored by two writers (they agree: a value is a function of its key); readers return the
distinct values of a key in the order first seen.
"""

from __future__ import annotations

import heapq
import os
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

from dataforge.core.errors import ForgeError
from dataforge.core.lock import STALE_AFTER_S, OutputLock

SHARDS = 16
COMPACT = "compact.kv"


def shard_of(key: str) -> str:
    return key[0]


def _parse(line: bytes) -> tuple[str, str] | None:
    if not line.endswith(b"\n") or b"\t" not in line:
        return None  # a torn last line of a killed writer
    key, value = line[:-1].decode("utf-8").split("\t", 1)
    return key, value


def _bisect_all(path: Path, key: str) -> list[str]:
    """Values of `key` in a sorted `key<TAB>value` file, found by bisection over byte offsets."""
    target = key.encode()
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return []
    with f:
        def first_line_from(pos: int) -> bytes:
            """The first whole line starting at or after byte `pos`."""
            f.seek(pos - 1 if pos else 0)
            if pos:
                f.readline()  # the line holding byte pos-1 ends before pos
            return f.readline()

        # the first line whose key is >= target starts at the first line start >= lo
        lo, hi = 0, os.fstat(f.fileno()).st_size + 1
        while lo < hi:
            mid = (lo + hi) // 2
            line = first_line_from(mid)
            if not line or line.split(b"\t", 1)[0] >= target:
                hi = mid
            else:
                lo = mid + 1
        out = []
        line = first_line_from(lo)
        while line:
            got = _parse(line)
            if got is None or got[0] != key:
                break
            out.append(got[1])
            line = f.readline()
        return out


class SegmentStore:
    """Append-only segments per writer; see the module docstring.

    Args:
        root: the store's directory (created on first write); every writer must see the same path.
        writer: a name unique to this writer (default: host, pid and a random token).
    Example:
        store = SegmentStore("/shared/cache/model"); store.put("ab12...", '{"text": "..."}')
        store.get("ab12...")  # '{"text": "..."}'
    """

    def __init__(self, root: str | Path, writer: str | None = None):
        self.root = Path(root)
        self.writer = writer or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._open: dict[str, object] = {}  # shard -> file appended by this writer
        self._live: dict[str, dict[str, list[str]]] = {}  # shard -> key -> values from live segments
        self._read_to: dict[Path, int] = {}  # live segment -> bytes read so far

    # writing
    def put(self, key: str, value: str) -> None:
        if "\n" in value or "\t" in key or not key:
            raise ValueError("a segment entry is one line: a non-empty key without tabs, a value without newlines")
        shard = shard_of(key)
        f = self._open.get(shard)
        if f is None:
            d = self.root / shard
            d.mkdir(parents=True, exist_ok=True)
            f = self._open[shard] = open(d / f"seg-{self.writer}.open", "ab")
        f.write(f"{key}\t{value}\n".encode())
        f.flush()

    def close(self) -> None:
        """Seal this writer's segments (compaction may then merge them)."""
        for f in self._open.values():
            f.close()
            p = Path(f.name)
            os.replace(p, p.with_suffix(".seg"))
        self._open.clear()

    # reading
    def _refresh(self, shard: str) -> dict[str, list[str]]:
        live = self._live.setdefault(shard, {})
        d = self.root / shard
        for p in sorted(d.glob("seg-*")) if d.is_dir() else []:
            other = p.with_suffix(".seg" if p.suffix == ".open" else ".open")
            start = self._read_to.get(p, self._read_to.get(other, 0))  # a sealed file keeps its bytes
            try:
                with open(p, "rb") as f:
                    f.seek(start)
                    for line in f:
                        got = _parse(line)
                        if got is None:
                            break
                        start += len(line)
                        values = live.setdefault(got[0], [])
                        if got[1] not in values:
                            values.append(got[1])
            except FileNotFoundError:  # sealed or compacted meanwhile: its entries are in the next file
                continue
            self._read_to[p] = start
        return live

    def get_many(self, keys: Iterable[str]) -> dict[str, list[str]]:
        """The distinct values stored under each key (keys with none are left out)."""
        by_shard: dict[str, list[str]] = {}
        for k in keys:
            by_shard.setdefault(shard_of(k), []).append(k)
        out: dict[str, list[str]] = {}
        for shard, ks in by_shard.items():
            live = self._refresh(shard)
            for k in sorted(set(ks)):
                values = _bisect_all(self.root / shard / COMPACT, k)
                values += [v for v in live.get(k, ()) if v not in values]
                if values:
                    out[k] = values
        return out

    def get(self, key: str) -> str | None:
        values = self.get_many([key]).get(key)
        return values[0] if values else None

    def entries(self) -> Iterator[tuple[str, str]]:
        """Every distinct (key, value), shard by shard (for counting and inspection)."""
        for d in sorted(self.root.glob("*")) if self.root.is_dir() else []:
            seen: set[tuple[str, str]] = set()
            for p in sorted(d.glob("seg-*")) + [d / COMPACT]:
                try:
                    with open(p, "rb") as f:
                        for line in f:
                            got = _parse(line)
                            if got is not None and got not in seen:
                                seen.add(got)
                                yield got
                except FileNotFoundError:
                    continue

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file()) if self.root.is_dir() else []

    # compaction
    def compact(self, shard: str) -> int:
        """Merge the shard's sealed (and long-stopped open) segments into its compacted file; returns
        how many segments were merged (0 when another compaction holds the shard)."""
        d = self.root / shard
        if not d.is_dir():
            return 0
        lock = OutputLock(d / COMPACT, verb="compact")
        try:
            lock.acquire()
        except ForgeError:  # another compaction of this shard is running: leave the shard to it
            return 0
        try:
            old = time.time() - STALE_AFTER_S
            mine = {Path(f.name) for f in self._open.values()}
            segs = [p for p in sorted(d.glob("seg-*")) if p.suffix == ".seg"
                    or (p.suffix == ".open" and p not in mine and p.stat().st_mtime < old)]
            if not segs:
                return 0
            runs = [_sorted_lines(p) for p in segs]
            compacted = d / COMPACT
            if compacted.is_file():
                runs.append(_file_lines(compacted))
            tmp = d / f".{COMPACT}.tmp-{self.writer}"
            with open(tmp, "wb") as out:
                last = None
                for line in heapq.merge(*runs):
                    if line != last:
                        out.write(line)
                        last = line
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, compacted)
            for p in segs:
                p.unlink(missing_ok=True)
                self._read_to.pop(p, None)
            return len(segs)
        finally:
            lock.release()

    def compact_all(self) -> int:
        return sum(self.compact(f"{i:x}") for i in range(SHARDS))


def _sorted_lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        lines = [ln for ln in f if _parse(ln) is not None]
    return iter(sorted(lines))


def _file_lines(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from (ln for ln in f if _parse(ln) is not None)


__all__ = ["COMPACT", "SHARDS", "SegmentStore", "shard_of"]
