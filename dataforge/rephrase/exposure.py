"""The exposure ledger: how many times each source document has been rephrased, across runs.

Rephrasing the same scarce document again and again turns it into a memorized one; the cap keeps
each source below `max_exposure` rephrases (default 2) over every run that shares a ledger. Each
run writes one Parquet file `runs/<run_key>.parquet` (doc_id, count) after its output is committed,
so a crashed run adds nothing and a rerun into the same output directory replaces its own entry.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dataforge.core.commit import atomic_write_bytes
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash

DEFAULT_MAX_EXPOSURE = 2
_SCHEMA = pa.schema([("doc_id", pa.string()), ("count", pa.int64())],
                    metadata={b"kind": b"dataforge-rephrase-exposure", b"version": b"1"})


def run_key(out_dir: str | Path) -> str:
    """A run's ledger key: its output directory (a rerun into the same directory replaces the entry)."""
    return stable_hash(str(Path(out_dir).expanduser().absolute()), 24)


@dataclass(frozen=True, slots=True)
class Refusal:
    doc_id: str
    request: str
    prior: int
    cap: int

    @property
    def message(self) -> str:
        return (f"document {self.doc_id}: already rephrased {self.prior} time(s), at the exposure cap of "
                f"{self.cap}; request {self.request!r} refused (raise max_exposure to allow more)")


class ExposureLedger:
    """Per-document rephrase counts shared by every run that points at the same directory.

    Args:
        root: the ledger directory (created on first record).
    Example:
        ledger = ExposureLedger("datasets/rephrase-exposure")
        admitted, refused = ledger.admit([("doc1", "encyclopedic"), ("doc1", "lecture")], cap=2, run="r1")
        ledger.record("r1", Counter(doc for doc, _ in admitted))
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().absolute()

    def _files(self) -> list[Path]:
        runs = self.root / "runs"
        return sorted(runs.glob("*.parquet")) if runs.is_dir() else []

    def counts(self, exclude_run: str | None = None) -> Counter[str]:
        """Rephrases recorded per document, summed over runs (leaving out `exclude_run`)."""
        total: Counter[str] = Counter()
        for f in self._files():
            if f.stem == exclude_run:
                continue
            try:
                table = pq.read_table(f)
            except Exception as e:  # a truncated or foreign file: say which one, do not guess
                raise ForgeError(f"{f}: unreadable exposure ledger entry ({e}); remove it if the run it "
                                 "records was deleted") from e
            for doc, n in zip(table.column("doc_id").to_pylist(), table.column("count").to_pylist(), strict=True):
                total[doc] += n
        return total

    def admit(self, requests: Iterable[tuple[str, str]], cap: int = DEFAULT_MAX_EXPOSURE,
              run: str | None = None) -> tuple[list[tuple[str, str]], list[Refusal]]:
        """Split (doc_id, request) pairs into admitted ones and refusals, deterministically: a
        document's requests are admitted in sorted order until its count reaches `cap`."""
        if cap < 0:
            raise ForgeError(f"max_exposure={cap}: must be >= 0 (0 refuses every document)")
        prior = self.counts(exclude_run=run)
        admitted, refused = [], []
        used: Counter[str] = Counter()
        for doc, request in sorted(set(requests)):
            if prior[doc] + used[doc] < cap:
                admitted.append((doc, request))
                used[doc] += 1
            else:
                refused.append(Refusal(doc, request, prior[doc] + used[doc], cap))
        return admitted, refused

    def record(self, run: str, counts: Counter[str] | dict[str, int], source: str = "") -> Path:
        """Write (replace) run `run`'s entry: how many rephrases of each document it kept."""
        rows = sorted((d, int(n)) for d, n in counts.items() if n > 0)
        meta = dict(_SCHEMA.metadata)
        meta[b"source"] = source.encode()
        table = pa.table({"doc_id": [d for d, _ in rows], "count": [n for _, n in rows]},
                         schema=_SCHEMA.with_metadata(meta))
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        path = self.root / "runs" / f"{run}.parquet"
        atomic_write_bytes(path, sink.getvalue().to_pybytes())
        return path


def doc_counts(doc_ids: Sequence[str]) -> Counter[str]:
    return Counter(doc_ids)
