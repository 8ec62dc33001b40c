"""Decontamination: drop documents that share a word n-gram (13 by default) with any benchmark item.

The driver reads the benchmark files, hashes every n-gram of every text field into a sorted uint64
table, and broadcasts it once; executors hash each document's n-grams the same way and look them up
with a binary search. Benchmark texts shorter than n words cannot match and are counted as skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr

from curation.steps.base import Doc, RecordStep
from curation.text import TokenHasher, ngram_hashes, words
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file


def _strings(obj: Any, fields: list[str] | None) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, list):
        return [s for x in obj for s in _strings(x, None)]
    if isinstance(obj, dict):
        keys = fields if fields is not None else sorted(obj)
        return [s for k in keys if k in obj for s in _strings(obj[k], None)]
    return []


def benchmark_texts(path: str | Path, fields: list[str] | None = None) -> list[str]:
    """Every text of a benchmark file: JSONL/JSON string fields, Parquet string columns, or text lines."""
    path = Path(path)
    if not path.is_file():
        raise ForgeError(f"Decontaminate benchmark {path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [s for row in pq.read_table(path).to_pylist() for s in _strings(row, fields)]
    raw = path.read_text("utf-8", errors="replace")
    if path.suffix in (".jsonl", ".json"):
        try:
            items = [json.loads(ln) for ln in raw.splitlines() if ln.strip()] if path.suffix == ".jsonl" else json.loads(raw)
        except ValueError as e:
            raise ForgeError(f"Decontaminate benchmark {path}: not valid JSON ({e})") from None
        return _strings(items if isinstance(items, list) else [items], None) if fields is None else \
            [s for it in (items if isinstance(items, list) else [items]) for s in _strings(it, fields)]
    return [ln for ln in raw.splitlines() if ln.strip()]


def ngram_table(texts: list[str], n: int) -> tuple[np.ndarray, int]:
    """(sorted unique n-gram hashes, number of texts too short to contribute)."""
    hasher, parts, skipped = TokenHasher(), [], 0
    for t in texts:
        toks = words(t)
        if len(toks) < n:
            skipped += 1
            continue
        parts.append(ngram_hashes(hasher.hashes(toks), n))
    table = np.unique(np.concatenate(parts)) if parts else np.empty(0, dtype=np.uint64)
    return table, skipped


class Decontaminate(RecordStep):
    """Drop documents sharing any `n`-word n-gram with a benchmark (case and punctuation ignored).

    Args:
        benchmarks: JSONL, JSON, Parquet or text files holding the evaluation items.
        n: n-gram length in words (13 as in GPT-3 and OLMo decontamination).
        fields: which JSON fields/columns to read; every string field when None.
    Example:
        Decontaminate(benchmarks=["evals/mmlu_test.jsonl"], n=13)
    """

    benchmarks: list[str] = Field(min_length=1)
    n: int = Field(13, ge=3)
    fields: list[str] | None = None
    sha256: dict[str, str] = Field(default_factory=dict)
    ngrams: int = 0
    skipped_items: int = 0
    _table: Any = PrivateAttr(None)
    _broadcast: Any = PrivateAttr(None)
    _hasher: Any = PrivateAttr(None)

    def _build(self) -> np.ndarray:
        texts = [t for b in self.benchmarks for t in benchmark_texts(b, self.fields)]
        table, self.skipped_items = ngram_table(texts, self.n)
        self.ngrams = int(len(table))
        self.sha256 = {b: sha256_file(b) for b in self.benchmarks}
        return table

    def prepare(self, spark) -> None:
        self._broadcast = spark.sparkContext.broadcast(self._build())

    def open(self) -> None:
        if self._broadcast is not None:
            self._table = self._broadcast.value
        elif self._table is None:  # used outside a Spark job
            self._table = self._build()
        self._hasher = TokenHasher()

    def judge(self, doc: Doc) -> str | None:
        if self._table is None:
            self.open()
        toks = words(doc.text)
        if len(toks) < self.n or not len(self._table):
            return None
        grams = ngram_hashes(self._hasher.hashes(toks), self.n)
        pos = np.searchsorted(self._table, grams)
        pos[pos == len(self._table)] = 0
        return "contaminated" if bool((self._table[pos] == grams).any()) else None
