"""The exposure ledger: how many times each source document has been rephrased, across runs.

Rephrasing one scarce document again and again turns it into a memorized one, so each source gets
at most `max_exposure` kept rephrases (default 2) over every run that shares a ledger directory.
The ledger holds one small JSON marker per kept rephrase, `<root>/<hh>/<doc hash>/<walk id>.json`,
written by the last node of the rephrasing graph. Markers are keyed by walk id, so rerunning the same
spec and seed (a resumed or repeated run) re-admits its own walks instead of counting them twice.
Runs that share a ledger should not run at the same time (two could both admit a document's last slot);
on a cluster the ledger lives on storage every executor sees, like the output.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dataforge.core.commit import atomic_write_text
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_bytes

DEFAULT_MAX_EXPOSURE = 2


@dataclass(frozen=True, slots=True)
class Refusal:
    """A rephrase request refused because its document is at the cap."""

    doc_id: str
    walk_id: str
    prior: int
    cap: int

    @property
    def message(self) -> str:
        return (f"document {self.doc_id!r}: already rephrased {self.prior} time(s), at the exposure cap of "
                f"{self.cap}; this rephrase is refused (raise max_exposure to allow more)")


class ExposureLedger:
    """Per-document rephrase markers shared by every run pointing at the same directory.

    Args:
        root: the ledger directory (created on first record).
    Example:
        ledger = ExposureLedger("datasets/rephrase-exposure")
        refusals = ledger.admit([("doc1", "walk-a"), ("doc1", "walk-b"), ("doc1", "walk-c")], cap=2)
        # [None, None, Refusal(...)]: the third rephrase of doc1 is refused
        ledger.record("doc1", "walk-a", {"style": "lecture"})
    """

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().absolute()

    def _doc_dir(self, doc_id: str) -> Path:
        # Document ids are arbitrary strings; a hash makes a safe, evenly spread path.
        h = sha256_bytes(doc_id.encode("utf-8", "surrogatepass"))[:32]
        return self.root / h[:2] / h

    def walks(self, doc_id: str) -> set[str]:
        """Walk ids of the recorded rephrases of `doc_id`."""
        d = self._doc_dir(doc_id)
        return {p.stem for p in d.glob("*.json")} if d.is_dir() else set()

    def count(self, doc_id: str) -> int:
        return len(self.walks(doc_id))

    def admit(self, requests: Sequence[tuple[str, str]], cap: int = DEFAULT_MAX_EXPOSURE) -> list[Refusal | None]:
        """For each (doc_id, walk_id): None when admitted, else the refusal. Walks already recorded are
        re-admitted (a rerun); new walks of a document are admitted in walk-id order while the count of
        recorded plus admitted rephrases stays below `cap`."""
        if cap < 0:
            raise ForgeError(f"max_exposure={cap}: must be >= 0 (0 refuses every document)")
        out: list[Refusal | None] = [None] * len(requests)
        by_doc: dict[str, list[int]] = {}
        for i, (doc, _) in enumerate(requests):
            by_doc.setdefault(doc, []).append(i)
        for doc, idx in by_doc.items():
            recorded = self.walks(doc)
            used = len(recorded)
            for i in sorted(idx, key=lambda i: requests[i][1]):
                walk = requests[i][1]
                if walk in recorded:
                    continue
                if used < cap:
                    used += 1
                else:
                    out[i] = Refusal(doc, walk, used, cap)
        return out

    def record(self, doc_id: str, walk_id: str, info: dict[str, Any] | None = None) -> Path:
        """Record one kept rephrase (idempotent for the same walk)."""
        if not walk_id or "/" in walk_id or walk_id.startswith("."):
            raise ForgeError(f"exposure ledger: bad walk id {walk_id!r}")
        path = self._doc_dir(doc_id) / f"{walk_id}.json"
        atomic_write_text(path, json.dumps({"doc_id": doc_id, "walk_id": walk_id, **(info or {})},
                                           sort_keys=True, ensure_ascii=False) + "\n")
        return path
