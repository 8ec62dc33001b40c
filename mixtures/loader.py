"""The hand-off to training: `open_mixture` returns a verified, memory-mapped view of a mixture version.

    mx = open_mixture("3f2a9c...", registry="registry")   # checks every file against the id first
    for piece in mx.stages[0]:                             # the build's shuffled order
        piece.tokens, piece.loss_mask, piece.doc_id, piece.source
    mx.validation("web")                                   # the held-out pieces of one source

Tokens are uint32 views into `np.memmap`s of the shards: nothing is decoded or copied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from dataforge.core.errors import ForgeError
from dataforge.core.manifest import Manifest
from mixtures.format import INDEX_FILE, MASK_DTYPE, MASKED_KINDS, TOKEN_DTYPE, TOKENIZER_DIR
from mixtures.registry import locate
from mixtures.verify import verify


@dataclass(frozen=True, slots=True)
class Piece:
    """At most seq_len tokens of one document: `tokens` are `doc_start:doc_start + len(tokens)` of its
    `doc_tokens`. `num_pieces` counts the pieces of the document in this stage (and epoch). `loss_mask`
    is None when every token counts (text sources). A preference pair is one piece: its first
    `chosen_length` tokens are the chosen sequence, the rest the rejected one (None for other pieces)."""

    tokens: np.ndarray
    loss_mask: np.ndarray | None
    doc_id: str
    source: str
    piece_index: int
    num_pieces: int
    doc_start: int
    doc_tokens: int
    epoch: int
    chosen_length: int | None = None


class PieceSet:
    """The pieces of one stage or one validation slice, in order; `piece(i)`, `len()`, iteration.

    Memory maps open lazily, so the object pickles cheaply (e.g. into DataLoader workers).
    """

    def __init__(self, root: Path, info: dict[str, Any], chat_sources: set[str]):
        self._root = Path(root)
        self._shards = info.get("shards", [])
        self._maps: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        self._chat = chat_sources
        if info.get("dir") and self._shards:
            t = pq.read_table(self._root / info["dir"] / INDEX_FILE)
            self._shard = t.column("shard").to_numpy()
            self._offset = t.column("offset").to_numpy()
            self._length = t.column("length").to_numpy()
            self._doc_start = t.column("doc_start").to_numpy()
            self._doc_tokens = t.column("doc_tokens").to_numpy()
            self._piece_index = t.column("piece_index").to_numpy()
            self._num_pieces = t.column("num_pieces").to_numpy()
            self._epoch = t.column("epoch").to_numpy()
            # No Python object per piece: sources as codes into a few names, ids in their Arrow buffer.
            sources = t.column("source").combine_chunks().dictionary_encode()
            self._source_names = sources.dictionary.to_pylist()
            self._source = sources.indices.to_numpy()
            self._doc_id = t.column("doc_id").combine_chunks()
            names = t.schema.names
            self._chosen = t.column("chosen_length").to_numpy() if "chosen_length" in names else None
        else:
            self._chosen = None
            self._shard = self._offset = self._length = np.zeros(0, np.int64)
            self._source_names, self._source, self._doc_id = [], np.zeros(0, np.int32), None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_maps"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._maps = {}

    def _map(self, shard: int) -> tuple[np.ndarray, np.ndarray | None]:
        if shard not in self._maps:
            s = self._shards[shard]
            toks = np.memmap(self._root / s["tokens"], dtype=TOKEN_DTYPE, mode="r")
            mask = np.memmap(self._root / s["mask"], dtype=MASK_DTYPE, mode="r") if s.get("mask") else None
            self._maps[shard] = (toks, mask)
        return self._maps[shard]

    @property
    def num_pieces(self) -> int:
        return len(self._length)

    def __len__(self) -> int:
        return self.num_pieces

    def piece(self, i: int) -> Piece:
        if not -self.num_pieces <= i < self.num_pieces:
            raise IndexError(f"piece {i} out of range ({self.num_pieces} pieces)")
        sh, a = int(self._shard[i]), int(self._offset[i])
        b = a + int(self._length[i])
        toks, mask = self._map(sh)
        source = self._source_names[int(self._source[i])]
        return Piece(tokens=toks[a:b], loss_mask=mask[a:b] if mask is not None and source in self._chat else None,
                     doc_id=self._doc_id[i].as_py(), source=source, piece_index=int(self._piece_index[i]),
                     num_pieces=int(self._num_pieces[i]), doc_start=int(self._doc_start[i]), doc_tokens=int(self._doc_tokens[i]),
                     epoch=int(self._epoch[i]),
                     chosen_length=None if self._chosen is None else int(self._chosen[i]))

    __getitem__ = piece

    def __iter__(self) -> Iterator[Piece]:
        return (self.piece(i) for i in range(self.num_pieces))

    def lengths(self) -> np.ndarray:
        """Tokens per piece, in order (for packing without touching the shards)."""
        return self._length.copy()


class StageView(PieceSet):
    """One stage: `name`, `tokens` (its budget), `seq_len`, `sft`, `sources`, and its pieces in order."""

    def __init__(self, root: Path, info: dict[str, Any], chat_sources: set[str]):
        super().__init__(root, info, chat_sources)
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
        self.stages = [StageView(path, st, chat) for st in manifest.extra["stages"]]
        self._validation = {n: PieceSet(path, v, chat) for n, v in manifest.extra["validation"].items()}

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
