"""Candidate-pair verification for MinHash dedup, vectorized over a batch of pairs.

Each document's feature (its sorted distinct shingle hashes, or its signature) travels as one binary
value: Spark stores and shuffles one value per document instead of a list of longs, and a batch of
pairs comes back to numpy as two flat buffers without Python objects per element.
"""

from __future__ import annotations

import numpy as np


def pack(flat: np.ndarray, offsets: np.ndarray, rows: np.ndarray | None = None):
    """An Arrow binary array whose value i holds flat[offsets[i]:offsets[i + 1]] (only `rows` when given)."""
    import pyarrow as pa

    width = flat.dtype.itemsize
    if rows is not None:
        lengths = np.diff(offsets)[rows]
        idx = np.repeat(offsets[:-1][rows] - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
        flat = flat[idx + np.arange(int(lengths.sum()))]
        offsets = np.concatenate(([0], np.cumsum(lengths)))
    return pa.Array.from_buffers(pa.binary(), len(offsets) - 1,
                                 [None, pa.py_buffer((offsets * width).astype(np.int32)),
                                  pa.py_buffer(np.ascontiguousarray(flat).tobytes())])


def unpack(arr, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(values, element offsets) of an Arrow binary array written by `pack`."""
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    width = np.dtype(dtype).itemsize
    offs = np.frombuffer(arr.buffers()[1], np.int32)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(arr.buffers()[2], np.uint8)[offs[0]:offs[-1]] if offs[-1] > offs[0] else np.empty(0, np.uint8)
    return data.view(dtype), (offs - offs[0]) // width


def jaccard_passes(fa, fb, threshold: float) -> np.ndarray:
    """Mask of pairs whose exact Jaccard similarity reaches `threshold` (inter >= threshold * union).

    `fa`, `fb`: binary arrays of uint64 shingle hashes (repeats allowed), one pair per position. Both
    lists of a pair go into one array tagged with the pair's index and side; sorted by (pair, value,
    side), each distinct shingle of a pair is one run, in A when the run starts on side 0 and in B when
    it ends on side 1. Sets are made only here, for candidate documents, not for every document.
    """
    a, ao = unpack(fa, np.uint64)
    b, bo = unpack(fb, np.uint64)
    n = len(ao) - 1
    vals = np.concatenate((a, b))
    pair = np.concatenate((np.repeat(np.arange(n), np.diff(ao)), np.repeat(np.arange(n), np.diff(bo))))
    side = np.concatenate((np.zeros(len(a), np.int8), np.ones(len(b), np.int8)))
    order = np.lexsort((side, vals, pair))
    vals, pair, side = vals[order], pair[order], side[order]
    start = np.ones(len(vals), dtype=bool)
    start[1:] = (vals[1:] != vals[:-1]) | (pair[1:] != pair[:-1])
    first = np.flatnonzero(start)
    last = np.append(first[1:] - 1, len(vals) - 1).astype(np.int64)
    in_a, in_b = side[first] == 0, side[last] == 1
    runs = pair[first]
    inter = np.bincount(runs[in_a & in_b], minlength=n)
    union = np.bincount(runs, minlength=n)
    return inter >= threshold * union


def agreement_passes(fa, fb, threshold: float, num_perm: int) -> np.ndarray:
    """Mask of pairs whose uint32 signatures agree on at least threshold * num_perm positions."""
    a, _ = unpack(fa, np.uint32)
    b, _ = unpack(fb, np.uint32)
    agree = (a.reshape(-1, num_perm) == b.reshape(-1, num_perm)).sum(axis=1)
    return agree >= threshold * num_perm
