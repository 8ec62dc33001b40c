"""The exposure ledger: how many times each source document has been rephrased, across runs.

Rephrasing one scarce document again and again turns it into a memorized one, so each source gets
at most `max_exposure` rephrases (default 2) over every run that shares a ledger directory.

The ledger holds one JSON marker per kept rephrase, naming the run it came from (graph id and seed)
and the walk, in a segment store keyed by a hash of the document id (`dataforge.core.segments`: each
process appends to its own few files, so 10^8 rephrases make files per writer, not per rephrase). A run admits a document's walks by their ordinal
(walk 0, 1, ... of that document in this run) while `prior + ordinal < max_exposure`, where `prior`
counts the markers of *other* runs. The decision is a pure function of the ledger's other runs and
the walk, so it is the same on every Spark partition, and rerunning the same spec and seed (a resumed
or repeated run) makes the same decisions instead of counting itself twice; a run of an edited graph
is another run (conservative: its earlier markers count). Runs that share a ledger should not run at
the same time; on a cluster the ledger lives on storage every executor sees. `forge generate`
compacts the ledgers of its graph at the end of a run.
"""

from __future__ import annotations

import atexit
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_bytes
from dataforge.core.segments import SegmentStore

DEFAULT_MAX_EXPOSURE = 2


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rephrase refused because its document is at the cap."""

    doc_id: str
    prior: int
    ordinal: int | None
    cap: int

    @property
    def message(self) -> str:
        done = self.prior + (self.ordinal if self.ordinal is not None else max(0, self.cap - self.prior))
        return (f"document {self.doc_id!r}: {done} rephrase(s) already recorded or admitted, at the exposure "
                f"cap of {self.cap}; this rephrase is refused (raise max_exposure to allow more)")


class ExposureLedger:
    """Per-document rephrase markers shared by every run pointing at the same directory.

    Args:
        root: the ledger directory (created on first record).
    Example:
        ledger = ExposureLedger("datasets/rephrase-exposure")
        ledger.prior("doc1", run=("graph-id", 0))      # rephrases of doc1 recorded by other runs
        ledger.record("doc1", "walk-key", run=("graph-id", 0), info={"style": "lecture"})
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().absolute()
        self._store = SegmentStore(self.root)

    @staticmethod
    def _key(doc_id: str) -> str:
        # Document ids are arbitrary strings; a hash makes an even, path-free key.
        return sha256_bytes(doc_id.encode("utf-8", "surrogatepass"))[:32]

    def markers(self, doc_id: str) -> list[dict[str, Any]]:
        """The recorded rephrases of `doc_id` (one dict per run and walk)."""
        out: dict[tuple, dict[str, Any]] = {}
        for raw in self._store.get_many([self._key(doc_id)]).get(self._key(doc_id), []):
            try:
                m = json.loads(raw)
                ident = (m["graph_id"], m["seed"], m["walk"])
            except (ValueError, KeyError, TypeError) as e:
                raise ForgeError(f"{self.root}: unreadable exposure marker for document {doc_id!r} ({e}); "
                                 "remove the ledger's segment holding it if its run was discarded") from e
            if m.get("doc_id") == doc_id:
                out.setdefault(ident, m)
        return list(out.values())

    def prior(self, doc_id: str, run: tuple[str, int] | None = None) -> int:
        """Rephrases of `doc_id` recorded by runs other than `run` (graph id, seed)."""
        return sum(1 for m in self.markers(doc_id) if run is None or (m.get("graph_id"), m.get("seed")) != tuple(run))

    def decide(self, doc_id: str, ordinal: int | None, cap: int, run: tuple[str, int] | None = None
               ) -> Refusal | None:
        """None when the walk with this `ordinal` (None: beyond the cap) is admitted, else the refusal."""
        if cap < 0:
            raise ForgeError(f"max_exposure={cap}: must be >= 0 (0 refuses every document)")
        prior = self.prior(doc_id, run)
        if ordinal is not None and prior + ordinal < cap:
            return None
        return Refusal(doc_id, prior, ordinal, cap)

    def record(self, doc_id: str, walk: str, run: tuple[str, int], info: dict[str, Any] | None = None) -> None:
        """Record one kept rephrase: walk `walk` (its key) of run `run` (idempotent for the same pair)."""
        if not isinstance(walk, str) or not walk:
            raise ForgeError(f"exposure ledger: bad walk key {walk!r}")
        marker = {"doc_id": doc_id, "walk": walk, "graph_id": run[0], "seed": run[1], **(info or {})}
        self._store.put(self._key(doc_id), json.dumps(marker, sort_keys=True, ensure_ascii=False))

    def close(self) -> None:
        """Seal this process's segments (compaction may then merge them)."""
        self._store.close()

    def compact(self) -> int:
        return self._store.compact_all()


_OPEN: dict[Path, ExposureLedger] = {}


def ledger_for(root: str | Path) -> ExposureLedger:
    """The process's ledger writer for `root`: one set of segments per process, sealed at exit."""
    path = Path(root).expanduser().absolute()
    if path not in _OPEN:
        if not _OPEN:
            atexit.register(lambda: [ledger.close() for ledger in _OPEN.values()])
        _OPEN[path] = ExposureLedger(path)
    return _OPEN[path]
