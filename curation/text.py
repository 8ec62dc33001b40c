"""Text normalization, tokenization and hashing shared by dedup, decontamination and repetition.

Everything here is deterministic across processes and machines (no Python `hash()`, which is salted),
so a shingle or an n-gram hashes the same on the driver, on every executor and in every run.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Any

import numpy as np

# Words are maximal runs of letters, digits or underscores, in any script.
WORD_RE = re.compile(r"\w+")
_SPACE_RE = re.compile(r"\s+")
MASK64 = (1 << 64) - 1


def normalize(text: str) -> str:
    """NFKC, lowercase, whitespace runs collapsed to one space, stripped: the form exact dedup hashes."""
    return _SPACE_RE.sub(" ", unicodedata.normalize("NFKC", text).lower()).strip()


def words(text: str) -> list[str]:
    """Lowercased word tokens of `text` (punctuation and whitespace dropped)."""
    return WORD_RE.findall(text.lower())


def hash64(token: str) -> int:
    """A stable unsigned 64-bit hash of a string."""
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class TokenHasher:
    """Hashes tokens to uint64 with a per-partition cache, so each distinct word is hashed once.

    Example:
        TokenHasher().hashes(["the", "cat", "the"])  # array of 3 uint64, first == last
    """

    def __init__(self, max_cache: int = 2_000_000):
        self._cache: dict[str, int] = {}
        self._max = max_cache

    def hashes(self, tokens: list[str]) -> np.ndarray:
        cache = self._cache
        if len(cache) > self._max:
            cache.clear()
        out = np.empty(len(tokens), dtype=np.uint64)
        for i, tok in enumerate(tokens):
            h = cache.get(tok)
            if h is None:
                h = cache[tok] = hash64(tok)
            out[i] = h
        return out


def splitmix64(x: np.ndarray) -> np.ndarray:
    """A bijective 64-bit mixer (SplitMix64 finalizer), vectorized; wraps modulo 2**64 by design."""
    x = x.astype(np.uint64, copy=True)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return x


# Odd multipliers that place each token of an n-gram in a different position of the combined hash.
_POS = splitmix64(np.arange(1, 65, dtype=np.uint64)) | np.uint64(1)


def ngram_hashes(token_hashes: np.ndarray, n: int) -> np.ndarray:
    """uint64 hashes of all contiguous n-grams; a sequence shorter than n is one n-gram of itself."""
    k = len(token_hashes)
    if k == 0:
        return np.empty(0, dtype=np.uint64)
    m = min(n, k)
    return _combine(token_hashes, m, k - m + 1)


def _combine(th: np.ndarray, n: int, count: int) -> np.ndarray:
    """The mixed, position-weighted sum of n consecutive hashes at each of the first `count` starts."""
    acc = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            acc += th[j:j + count] * _POS[j]
        acc += np.uint64(n)
    return splitmix64(acc)


def to_signed(x: np.ndarray) -> np.ndarray:
    """View uint64 as int64 (Spark has no unsigned longs); the bits are unchanged."""
    return x.astype(np.uint64, copy=False).view(np.int64)


# Batch tokenization in Arrow (C++), for the hot paths: the same words as `words()` (runs of letters,
# digits and underscores, lowercased), with Python touching only each batch's distinct words.
WORD_SPLIT = r"[^\p{L}\p{N}_]+"
# ASCII documents skip the Unicode regex (most of the tokenizing time): one bytes.translate pass
# over the batch lowercases them and turns every other byte into a space, then Arrow splits on spaces.
# Documents with other bytes are replaced by their regex-cleaned form before the split.
_ASCII_WORDS = bytes(ord(c.lower()) if c.isascii() and (c.isalnum() or c == "_") else (b if b >= 128 else 32)
                     for b, c in ((b, chr(b)) for b in range(256)))


def _spaced(arr):
    """`arr` lowercased with every run of non-word characters replaced by spaces (nulls as "")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if arr.null_count:
        arr = pc.fill_null(arr, "")
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offs = np.frombuffer(arr.buffers()[1], width)[arr.offset:arr.offset + len(arr) + 1]
    lo, hi = int(offs[0]), int(offs[-1])
    data = arr.buffers()[2].slice(lo, hi - lo).to_pybytes().translate(_ASCII_WORDS) if hi > lo else b""
    out = pa.Array.from_buffers(arr.type, len(arr), [None, pa.py_buffer(offs - offs[0]), pa.py_buffer(data)])
    ascii_ = pc.string_is_ascii(arr)
    if pc.all(ascii_).as_py():
        return out
    other = pc.invert(ascii_)
    slow = pc.replace_substring_regex(pc.utf8_lower(arr.filter(other)), WORD_SPLIT, " ")
    return pc.replace_with_mask(out, other, slow.cast(arr.type))


def _split(texts) -> tuple[Any, np.ndarray]:
    """(all words of all documents, one Arrow array; document offsets into it, length n + 1)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = texts if isinstance(texts, pa.Array | pa.ChunkedArray) else pa.array(texts, pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    parts = pc.ascii_split_whitespace(_spaced(arr))
    flat = pc.list_flatten(parts)
    keep = pc.greater(pc.binary_length(flat), 0)
    if pc.all(keep).as_py() is not False:  # no empty pieces (none at the ends): the list offsets serve
        offsets = parts.offsets.to_numpy().astype(np.int64)
        return flat, offsets - offsets[0]
    parent = pc.list_parent_indices(parts).filter(keep).to_numpy(zero_copy_only=False)
    return flat.filter(keep), np.searchsorted(parent, np.arange(len(arr) + 1)).astype(np.int64)


def word_lists(texts) -> list[list[str]]:
    """The word lists of many documents at once (what `batch_token_hashes` hashes)."""
    flat, offsets = _split(texts)
    words_ = flat.to_pylist()
    return [words_[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def batch_token_hashes(texts, hasher: TokenHasher) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 hashes of every word of every document, concatenated; document offsets, length n + 1)."""
    import pyarrow.compute as pc

    flat, offsets = _split(texts)
    if len(flat) == 0:
        return np.empty(0, np.uint64), offsets
    enc = pc.dictionary_encode(flat)
    return hasher.hashes(enc.dictionary.to_pylist())[enc.indices.to_numpy()], offsets


def batch_ngram_hashes(th: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Word n-gram hashes of many documents (same values as `ngram_hashes` per document).

    Returns the concatenated hashes and their document offsets; a document shorter than n words is
    one n-gram of itself, an empty one has none.
    """
    lengths = np.diff(offsets)
    counts = np.where(lengths >= n, lengths - n + 1, np.minimum(lengths, 1))
    out_off = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    out = np.empty(int(out_off[-1]), dtype=np.uint64)
    if len(th) >= n:
        m = len(th) - n + 1
        acc = _combine(th, n, m)
        # a start is valid unless a document ends within the n - 1 words after it
        valid = np.ones(m, dtype=bool)
        bad = (offsets[1:, None] - np.arange(1, n)[None, :]).reshape(-1)
        valid[bad[(bad >= 0) & (bad < m)]] = False
        long_docs = lengths >= n
        if long_docs.all():
            out[:] = acc[valid]
        elif long_docs.any():  # place each long document's run of n-grams at its output offset
            c = counts[long_docs]
            shift = out_off[:-1][long_docs] - np.concatenate(([0], np.cumsum(c)[:-1]))
            out[np.repeat(shift, c) + np.arange(int(c.sum()))] = acc[valid]
    for d in np.flatnonzero((lengths > 0) & (lengths < n)):  # short documents: rare
        out[out_off[d]] = ngram_hashes(th[offsets[d]:offsets[d + 1]], n)[0]
    return out, out_off
