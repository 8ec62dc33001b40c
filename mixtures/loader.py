"""The hand-off to training: `open_mixture` returns a verified, memory-mapped view of a mixture version.

    mx = open_mixture("3f2a9c...", registry="registry")   # checks every file against the id first
    for piece in mx.stages[0]:                             # the build's shuffled order
        piece.tokens, piece.loss_mask, piece.doc_id, piece.source
    mx.validation("web")                                   # the held-out pieces of one source

Tokens are uint32 views into `np.memmap`s of the shards and the piece index a memory-mapped int64 array
(index.npy, mixtures/format.py): nothing is decoded or copied, so opening costs the same at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataforge.core.errors import ForgeError
from dataforge.core.manifest import Manifest
from mixtures.format import (
    FORMAT_VERSION,
    INDEX_ARRAY_FILE,
    INDEX_COLUMNS,
    INDEX_DTYPE,
    INDEX_FILE,
    MASK_DTYPE,
    MASKED_KINDS,
    TOKEN_DTYPE,
    TOKENIZER_DIR,
)
from mixtures.registry import locate
from mixtures.verify import verify


class Piece:
    """At most seq_len tokens of one document: `tokens` are `doc_start:doc_start + len(tokens)` of its
    `doc_tokens`. `num_pieces` counts the pieces of the document in this stage (and epoch). `loss_mask`
    is None when every token counts (text sources). A preference pair is one piece: its first
    `chosen_length` tokens are the chosen sequence, the rest the rejected one (None for other pieces).
    `doc_id` is read from the stage's index.parquet the first time one is asked for."""

    __slots__ = ("tokens", "loss_mask", "_doc_id", "source", "piece_index", "num_pieces", "doc_start", "doc_tokens",
                 "epoch", "chosen_length")

    def __init__(self, tokens: np.ndarray, loss_mask: np.ndarray | None, doc_id: str | Callable[[], str],
                 source: str, piece_index: int, num_pieces: int, doc_start: int, doc_tokens: int, epoch: int,
                 chosen_length: int | None = None):
        values = (tokens, loss_mask, doc_id, source, piece_index, num_pieces, doc_start, doc_tokens, epoch,
                  chosen_length)
        for name, value in zip(self.__slots__, values, strict=True):
            object.__setattr__(self, name, value)

    @property
    def doc_id(self) -> str:
        d = self._doc_id
        return d if isinstance(d, str) else d()

    def __setattr__(self, name, value):
        raise AttributeError(f"Piece is read-only (setting {name!r})")

    def __reduce__(self):
        return Piece, tuple(getattr(self, name) for name in self.__slots__)

    def __repr__(self) -> str:
        return (f"Piece({self.source!r}, doc_id={self.doc_id!r}, tokens={len(self.tokens)}, "
                f"piece {self.piece_index + 1}/{self.num_pieces}, epoch={self.epoch})")


class PieceSet:
    """The pieces of one stage or one validation slice, in order; `piece(i)`, `len()`, iteration.

    The index (index.npy) and the shards are memory-mapped on first use and the doc ids read from
    index.parquet only when one is asked for, so opening costs the same at any size and the object
    pickles cheaply (e.g. into DataLoader workers).
    """

    def __init__(self, root: Path, info: dict[str, Any], chat_sources: set[str], source_names: Sequence[str]):
        self._root = Path(root)
        self._shards = info.get("shards", [])
        self._dir = self._root / info["dir"] if info.get("dir") and self._shards else None
        self.num_pieces = int(info.get("num_pieces", 0)) if self._dir else 0
        self._pairs = bool(info.get("pairs", False))
        self._chat = chat_sources
        self._source_names = list(source_names)  # index.npy's source codes index these (mixtures/format.py)
        self._maps: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self._cols: dict[str, np.ndarray] | None = None
        self._ids: pa.Array | None = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_maps", "_cols", "_ids")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._maps, self._cols, self._ids = {}, None, None

    @property
    def _index(self) -> dict[str, np.ndarray]:
        """Column name -> a read-only int64 view into the memory-mapped index.npy (empty without pieces)."""
        if self._cols is None:
            if self._dir is None:
                self._cols = {c: np.zeros(0, INDEX_DTYPE) for c in INDEX_COLUMNS}
            else:
                path = self._dir / INDEX_ARRAY_FILE
                if not path.is_file():
                    raise ForgeError(f"{path}: missing (a mixture of format < {FORMAT_VERSION}); rebuild it "
                                     "with `forge mix build`")
                index = np.load(path, mmap_mode="r", allow_pickle=False)
                if index.dtype != np.dtype(INDEX_DTYPE) or index.shape != (len(INDEX_COLUMNS), self.num_pieces):
                    raise ForgeError(f"{path}: {index.dtype} {index.shape}, expected {INDEX_DTYPE} "
                                     f"{(len(INDEX_COLUMNS), self.num_pieces)}; rebuild the mixture")
                self._cols = dict(zip(INDEX_COLUMNS, index, strict=True))
        return self._cols

    def _map(self, shard: int) -> tuple[np.ndarray, np.ndarray | None]:
        if shard not in self._maps:
            s = self._shards[shard]
            toks = np.memmap(self._root / s["tokens"], dtype=TOKEN_DTYPE, mode="r")
            mask = np.memmap(self._root / s["mask"], dtype=MASK_DTYPE, mode="r") if s.get("mask") else None
            self._maps[shard] = (toks, mask)
        return self._maps[shard]

    def __len__(self) -> int:
        return self.num_pieces

    def doc_id(self, i: int) -> str:
        """The record id of piece `i` (reads the stage's doc ids from index.parquet once, on first use)."""
        if self._ids is None:
            self._ids = pq.read_table(self._dir / INDEX_FILE, columns=["doc_id"]).column("doc_id").combine_chunks()
        return self._ids[i].as_py()

    def piece(self, i: int) -> Piece:
        if not -self.num_pieces <= i < self.num_pieces:
            raise IndexError(f"piece {i} out of range ({self.num_pieces} pieces)")
        i %= self.num_pieces
        c = self._index
        sh, a = int(c["shard"][i]), int(c["offset"][i])
        b = a + int(c["length"][i])
        toks, mask = self._map(sh)
        source = self._source_names[int(c["source"][i])]
        return Piece(tokens=toks[a:b], loss_mask=mask[a:b] if mask is not None and source in self._chat else None,
                     doc_id=partial(self.doc_id, i), source=source, piece_index=int(c["piece_index"][i]),
                     num_pieces=int(c["num_pieces"][i]), doc_start=int(c["doc_start"][i]),
                     doc_tokens=int(c["doc_tokens"][i]), epoch=int(c["epoch"][i]),
                     chosen_length=int(c["chosen_length"][i]) if self._pairs else None)

    __getitem__ = piece

    def __iter__(self) -> Iterator[Piece]:
        return (self.piece(i) for i in range(self.num_pieces))

    def lengths(self) -> np.ndarray:
        """Tokens per piece, in order (for packing without touching the shards): a read-only view into the
        memory-mapped index."""
        return self._index["length"]


class StageView(PieceSet):
    """One stage: `name`, `tokens` (its budget), `seq_len`, `sft`, `sources`, and its pieces in order."""

    def __init__(self, root: Path, info: dict[str, Any], chat_sources: set[str], source_names: Sequence[str]):
        super().__init__(root, info, chat_sources, source_names)
        self.name: str = info["name"]
        self.tokens: int = int(info["budget"])
        self.seq_len: int = int(info["seq_len"])
        self.sft: bool = bool(info["sft"])
        self.pairs: bool = bool(info.get("pairs", False))  # a preference stage: one piece per pair
        self.sources: list[str] = list(info["sources"])
        self.weights: dict[str, dict[str, Any]] = info["sources"]

    def __repr__(self) -> str:
        return f"StageView({self.name!r}, tokens={self.tokens}, seq_len={self.seq_len}, sft={self.sft}, " \
               f"pieces={self.num_pieces})"


class MixtureVersion:
    """A verified mixture version. Use `open_mixture` to get one.

    Attributes:
        id, path, manifest: the registry entry.
        verified: whether `open_mixture` checked every file's sha256 and the id (training requires it).
        tokenizer_path: the copy of the HF tokenizer inside the mixture (load it offline).
        stages: list of StageView, in training order.
        sources: source name -> {path, manifest_id, kind, ...} (for tracing back to source lineage).
    """

    def __init__(self, path: Path, manifest: Manifest, verified: bool = False):
        self.path, self.manifest, self.id = path, manifest, manifest.id
        self.verified = verified  # True when every file and the id were checked at open
        self.tokenizer_path = path / manifest.extra["tokenizer"].get("path", TOKENIZER_DIR)
        self.sources: dict[str, dict[str, Any]] = manifest.extra["sources"]
        chat = {n for n, s in self.sources.items() if s["kind"] in MASKED_KINDS}
        names = sorted(self.sources)  # what index.npy's source codes index
        self.stages = [StageView(path, st, chat, names) for st in manifest.extra["stages"]]
        self._validation = {n: PieceSet(path, v, chat, names) for n, v in manifest.extra["validation"].items()}

    @property
    def name(self) -> str:
        return self.manifest.config["name"]

    def stage(self, name: str) -> StageView:
        for st in self.stages:
            if st.name == name:
                return st
        raise ForgeError(f"mixture {self.id}: no stage {name!r}; stages: {[s.name for s in self.stages]}")

    def validation(self, source: str) -> PieceSet:
        if source not in self._validation:
            raise ForgeError(f"mixture {self.id}: no source {source!r}; sources: {sorted(self._validation)}")
        return self._validation[source]

    def load_tokenizer(self):
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(str(self.tokenizer_path), trust_remote_code=False)

    def __repr__(self) -> str:
        return f"MixtureVersion({self.id!r}, name={self.name!r}, stages={[s.name for s in self.stages]})"


def open_mixture(id_or_path: str | Path, registry: str | Path | None = None, *, verify_files: bool = True
                 ) -> MixtureVersion:
    """Open a mixture by path, id or unique id prefix; every file is checked against the id before any
    read (a full sha256 the first time on this machine, then only files that changed: mixtures/verify.py).

    Args:
        registry: where to look up an id (default `$FORGE_REGISTRY`, else ./registry).
        verify_files: leave on; off only for tools that inspect a damaged mixture.
    Example:
        mx = open_mixture(mixture_id); piece = mx.stages[0].piece(0)
    """
    path = locate(id_or_path, registry)
    manifest = Manifest.read(path)
    if verify_files:
        verify(path, manifest)
    return MixtureVersion(path, manifest, verified=verify_files)
