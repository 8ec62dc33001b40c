"""The sampling plan: which slice of which document goes where, computed from token counts alone.

Each source is a stream of epochs; every epoch is a seeded permutation of its training documents, and
stages take consecutive token ranges of the stream. So a later stage sees fresh documents before any
repeats, a source is upsampled by reading further epochs, and every stage gets exactly its target tokens
per source (the one document that straddles a stage boundary is split there). Within a stage, a document
slice of k pieces gets a random phase u and its piece j the sort key (u + j) / k: sources interleave
uniformly and a long document's pieces land about 1/k of the stage apart instead of back to back.
Everything here is numpy over arrays sorted by key, so the plan does not depend on Spark's partitioning.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json
from mixtures.budget import check_epochs, check_plan_memory
from mixtures.format import MASKED_KINDS
from mixtures.pairs import check_stage_kinds, pair_slices
from mixtures.spec import Mixture

_GOLDEN, _M1, _M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
HOLDOUT_MAX_SHARE = 10  # at most 1/10 of a source's documents are held out


def salt(*parts) -> np.uint64:
    return np.uint64(int.from_bytes(hashlib.blake2b(canonical_json(parts).encode(), digest_size=8).digest(), "little"))


def mix64(keys: np.ndarray, s: np.uint64) -> np.ndarray:
    """splitmix64 of int64 keys xor a salt: a seeded, platform-independent hash per key."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.int64).view(np.uint64) ^ s
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def unit_float(h: np.ndarray) -> np.ndarray:
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


@dataclass(slots=True)
class SourceDocs:
    """The usable documents of one source, sorted by key: what the plan samples from."""

    name: str
    kind: str
    keys: np.ndarray
    chash: np.ndarray
    ntok: np.ndarray
    doc_ids: pa.Array  # strings in one Arrow buffer: no Python object per document on the driver
    train: np.ndarray = field(default=None)  # indices of training documents (sorted by key)
    holdout: np.ndarray = field(default=None)  # indices of held-out documents (sorted by key)
    split: np.ndarray | None = None  # preference sources: each pair's chosen length (mixtures/pairs.py)

    def __post_init__(self):
        if not isinstance(self.doc_ids, pa.Array):  # a list (tests, small callers) or a chunked array
            self.doc_ids = (self.doc_ids.combine_chunks() if isinstance(self.doc_ids, pa.ChunkedArray)
                            else pa.array(self.doc_ids, pa.string()))


@dataclass(slots=True)
class Pieces:
    """A table of pieces in file order. `doc` indexes the source's SourceDocs arrays; `start` is the
    piece's first token within its document."""

    file: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    src: np.ndarray
    doc: np.ndarray
    start: np.ndarray
    piece_index: np.ndarray
    num_pieces: np.ndarray
    epoch: np.ndarray


@dataclass(slots=True)
class Plan:
    files: list[dict]  # {"tokens": rel, "mask": rel | None, "ntok": int, "stage": i | None, "source": name | None}
    stages: list[dict]  # per stage: name, tokens, seq_len, sft, sources{name: stats}, files[idx], pieces table
    validation: dict[str, dict]  # per source: seq_len, docs, tokens, files[idx], pieces table
    sources: dict[str, dict]  # per source: docs, tokens, train_docs, train_tokens, holdout_docs, ...


def select_holdout(docs: SourceDocs, mixture: Mixture) -> None:
    n = len(docs.keys)
    n_val = min(mixture.source(docs.name).holdout_docs, n // HOLDOUT_MAX_SHARE)
    order = np.argsort(mix64(docs.keys, salt(mixture.seed, "holdout", docs.name)), kind="stable")
    docs.holdout = np.sort(order[:n_val])
    docs.train = np.sort(order[n_val:])


def _stream_slices(docs: SourceDocs, mixture: Mixture, bounds: list[tuple[int, int]]):
    """For each (b0, b1) token range of the source's epoch stream: (doc, epoch, start, end) arrays."""
    train, total = docs.train, int(docs.ntok[docs.train].sum())
    need = max((b1 for _, b1 in bounds), default=0)
    n_epochs = math.ceil(need / total) if total else 0
    order = [train[np.argsort(mix64(docs.keys[train], salt(mixture.seed, "epoch", docs.name, e)), kind="stable")]
             for e in range(n_epochs)]
    stream = np.concatenate(order) if order else np.zeros(0, np.int64)
    epoch = np.repeat(np.arange(n_epochs), len(train))
    lens = docs.ntok[stream]
    ends = np.cumsum(lens)
    starts = ends - lens
    out = []
    for b0, b1 in bounds:
        i0, i1 = np.searchsorted(ends, b0, "right"), np.searchsorted(starts, b1, "left")
        s, e = starts[i0:i1], ends[i0:i1]
        out.append((stream[i0:i1], epoch[i0:i1], np.maximum(b0, s) - s, np.minimum(b1, e) - s))
    return out


def cut_pieces(start: np.ndarray, end: np.ndarray, seq_len: int):
    """Cut document slices into pieces of at most seq_len: (slice index, piece index, count, start, length)."""
    k = -(-(end - start) // seq_len)
    owner = np.repeat(np.arange(len(k)), k)
    first = np.cumsum(k) - k
    j = np.arange(int(k.sum())) - np.repeat(first, k)
    p_start = start[owner] + j * seq_len
    p_len = np.minimum(end[owner] - p_start, seq_len)
    return owner, j, k[owner], p_start, p_len


def shard(lengths: np.ndarray, shard_tokens: int) -> tuple[np.ndarray, np.ndarray]:
    """Assign consecutive pieces to shards of about shard_tokens (a shard ends after the piece that
    crosses the mark, so a piece never spans two files): returns (shard, offset within shard)."""
    pos = np.cumsum(lengths) - lengths
    sh = pos // shard_tokens
    first = np.searchsorted(sh, sh, "left")
    return sh, pos - pos[first]


def _layout(pieces: dict[str, np.ndarray], shard_tokens: int, files: list[dict], path: str, mask: bool,
            **tags) -> Pieces:
    sh, off = shard(pieces["length"], shard_tokens)
    base = len(files)
    for s in range(int(sh.max()) + 1 if len(sh) else 0):
        files.append({"tokens": f"{path}/tokens-{s:05d}.u32", "mask": f"{path}/mask-{s:05d}.u8" if mask else None,
                      "ntok": int(pieces["length"][sh == s].sum()), **tags})
    return Pieces(file=(sh + base).astype(np.int32), offset=off.astype(np.int64), **pieces)


def _piece_arrays(src, doc, epoch, start, end, seq_len):
    owner, j, k, p_start, p_len = cut_pieces(start, end, seq_len)
    return owner, {"length": p_len.astype(np.int32), "src": src[owner].astype(np.int32), "doc": doc[owner],
                   "start": p_start.astype(np.int64), "piece_index": j.astype(np.int32),
                   "num_pieces": k.astype(np.int32), "epoch": epoch[owner].astype(np.int32)}


def build_plan(mixture: Mixture, docs: dict[str, SourceDocs]) -> Plan:
    """Hold out validation documents, check epochs and memory, sample every stage and lay out its shards."""
    names = sorted(docs)  # a source's index in the plan (`src`) is its position here
    for d in docs.values():
        select_holdout(d, mixture)
    train_tokens = {name: int(d.ntok[d.train].sum()) for name, d in docs.items()}
    # Both checks need only totals: nothing proportional to the budget is allocated before them.
    check_epochs(mixture, train_tokens)
    check_plan_memory(mixture, docs, train_tokens)
    targets = [st.target_tokens() for st in mixture.stages]
    slices = {}
    for name in names:
        bounds, b = [], 0
        for tt in targets:
            bounds.append((b, b + tt.get(name, 0)))
            b += tt.get(name, 0)
        pick = pair_slices if docs[name].kind == "preference" else _stream_slices
        slices[name] = pick(docs[name], mixture, bounds)
    files: list[dict] = []
    stages = []
    for si, st in enumerate(mixture.stages):
        parts = [(i, *slices[n][si]) for i, n in enumerate(names) if len(slices[n][si][0])]
        if not parts:
            raise ForgeError(f"stage {st.name}: no tokens to sample; check its weights")
        src = np.concatenate([np.full(len(p[1]), p[0], np.int32) for p in parts])
        doc, epoch, start, end = (np.concatenate([p[c] for p in parts]) for c in range(1, 5))
        keys = np.concatenate([docs[names[p[0]]].keys[p[1]] for p in parts])
        h = mix64(keys, salt(mixture.seed, "order", st.name))
        u = unit_float(mix64((h ^ epoch.astype(np.uint64)).view(np.int64), salt(mixture.seed, "order-epoch")))
        pairs = check_stage_kinds(st, {n: d.kind for n, d in docs.items()})
        # a pair is one piece of its two sequences, each at most seq_len (longer ones were quarantined)
        owner, arrays = _piece_arrays(src, doc, epoch, start, end, st.seq_len * (2 if pairs else 1))
        sort_key = (u[owner] + arrays["piece_index"]) / arrays["num_pieces"]
        order = np.lexsort((arrays["piece_index"], arrays["epoch"], keys[owner], arrays["src"], sort_key))
        arrays = {k: v[order] for k, v in arrays.items()}
        used = [n for n, t in targets[si].items() if t > 0]
        sft = any(docs[n].kind in MASKED_KINDS for n in used)
        table = _layout(arrays, mixture.shard_tokens, files, f"stages/{si:02d}-{st.name}", sft, stage=si)
        total = int(table.length.sum())
        stats = {}
        for i, n in enumerate(names):
            if n not in st.weights:
                continue
            sel = table.src == i
            toks = int(table.length[sel].sum())
            stats[n] = {"target_weight": st.target_weights()[n], "target_tokens": targets[si][n],
                        "realized_weight": toks / total if total else 0.0, "tokens": toks,
                        "epochs": toks / train_tokens[n] if train_tokens[n] else 0.0,
                        "docs": int(len(np.unique(table.doc[sel]))), "pieces": int(sel.sum())}
        stages.append({"name": st.name, "tokens": total, "budget": st.budget, "seq_len": st.seq_len, "sft": sft,
                       "pairs": pairs, "sources": stats, "files": sorted(set(table.file.tolist())), "pieces": table})
    validation = {}
    for i, n in enumerate(names):
        d = docs[n]
        seq = min([st.seq_len for st in mixture.stages if st.weights.get(n, 0) > 0] or
                  [st.seq_len for st in mixture.stages])
        hold = d.holdout
        _, arrays = _piece_arrays(np.full(len(hold), i, np.int32), hold, np.zeros(len(hold), np.int32),
                                  np.zeros(len(hold), np.int64), d.ntok[hold],
                                  seq * (2 if d.kind == "preference" else 1))
        table = _layout(arrays, mixture.shard_tokens, files, f"validation/{n}", d.kind in MASKED_KINDS,
                        source=n)
        validation[n] = {"seq_len": seq, "pairs": d.kind == "preference", "docs": int(len(hold)),
                         "tokens": int(d.ntok[hold].sum()),
                         "files": sorted(set(table.file.tolist())), "pieces": table}
    sources = {}
    for n in names:
        d = docs[n]
        consumed = sum(t.get(n, 0) for t in targets)
        sources[n] = {"docs": int(len(d.keys)), "tokens": int(d.ntok.sum()), "train_docs": int(len(d.train)),
                      "train_tokens": train_tokens[n], "holdout_docs": int(len(d.holdout)),
                      "holdout_tokens": int(d.ntok[d.holdout].sum()), "tokens_used": consumed,
                      "epochs": consumed / train_tokens[n] if train_tokens[n] else 0.0,
                      "max_epochs": mixture.source(n).max_epochs}
    return Plan(files=files, stages=stages, validation=validation, sources=sources)
