"""Text normalization, tokenization and hashing shared by dedup, decontamination and repetition.

Everything here is deterministic across processes and machines (no Python `hash()`, which is salted),
so a shingle or an n-gram hashes the same on the driver, on every executor and in every run.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

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
    count = k - m + 1
    acc = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(m):
            acc += token_hashes[j:j + count] * _POS[j]
        acc += np.uint64(m)
    return splitmix64(acc)


def text_ngram_hashes(text: str, n: int, hasher: TokenHasher | None = None) -> np.ndarray:
    """Unique uint64 hashes of the word n-grams of `text` (sorted)."""
    toks = words(text)
    th = (hasher or TokenHasher()).hashes(toks)
    return np.unique(ngram_hashes(th, n))


def to_signed(x: np.ndarray) -> np.ndarray:
    """View uint64 as int64 (Spark has no unsigned longs); the bits are unchanged."""
    return x.astype(np.uint64, copy=False).view(np.int64)
