"""The on-disk format of a mixture version (bump FORMAT_VERSION on any change: it enters the id).

    <id>/manifest.json                      the spec, ids, per stage/source weights, file sha256s
    <id>/README.md, weights.png             dataset card and target-vs-realized chart (not hashed)
    <id>/tokenizer/                         a copy of the HF tokenizer (tokenizer.json, chat template, ...)
    <id>/stages/00-<stage>/tokens-00000.u32 little-endian uint32 token ids of the stage's pieces, in order
    <id>/stages/00-<stage>/mask-00000.u8    SFT and preference stages: 1 where a token counts for the loss
    <id>/stages/00-<stage>/index.parquet    one row per piece, in training order (INDEX_SCHEMA; preference
                                            stages: PAIR_INDEX_SCHEMA); the doc ids and a readable copy
    <id>/stages/00-<stage>/index.npy        the same pieces as numbers, for `np.load(mmap_mode="r")` (below)
    <id>/validation/<source>/...            the held-out slice of each source, same layout
    <id>/quarantine/part-00000.parquet      records that could not be tokenized, with reasons

Shards are read with `np.memmap` without decoding; a piece is `tokens[offset:offset + length]` of its shard.

A preference stage (manifest `stages[i].pairs`, also `validation[src].pairs`) holds one piece per pair:
its chosen sequence (prompt + chosen answer, `chosen_length` tokens) then its rejected sequence (prompt +
rejected answer, `length - chosen_length` tokens), each at most the stage's seq_len, both in one shard;
the mask marks the answer tokens of both.

index.npy is a standard .npy file (NumPy format 1.0) holding one C-ordered, little-endian int64 (`<i8`)
array of shape (len(INDEX_COLUMNS), pieces): row c is column INDEX_COLUMNS[c] for every piece, in training
order, so a trainer maps it and reads a column as one contiguous run of bytes without parsing anything.
Its rows are those of INDEX_SCHEMA without the strings: `source` is an index into the sorted names of the
manifest's `extra.sources`, and `chosen_length` is -1 outside preference stages. Any reader maps it, e.g.
`np.load(path, mmap_mode="r")[INDEX_COLUMNS.index("length")]`, or raw: the array's bytes start at byte
10 + h, where h is the little-endian uint16 at byte 8 (the header's length).
"""

from __future__ import annotations

import pyarrow as pa

FORMAT_VERSION = 4  # 2: the id binds the input key to the content root of the files (mixtures/identity.py)
# 3: preference sources: pair pieces, PAIR_INDEX_SCHEMA, `pairs` in the stage and validation entries
# 4: index.npy beside each index.parquet (INDEX_COLUMNS): trainers map it instead of reading the parquet
TOKEN_DTYPE = "<u4"
MASK_DTYPE = "u1"
INDEX_FILE = "index.parquet"
INDEX_ARRAY_FILE = "index.npy"
INDEX_DTYPE = "<i8"
INDEX_COLUMNS = ("shard", "offset", "length", "source", "doc_start", "doc_tokens", "piece_index", "num_pieces",
                 "epoch", "chosen_length")  # the rows of index.npy, meanings as in INDEX_SCHEMA
TOKENIZER_DIR = "tokenizer"
QUARANTINE_FILE = "quarantine/part-00000.parquet"
MASKED_KINDS = ("chat", "completion", "preference")  # record kinds whose documents carry a loss mask
TEMPLATED_KINDS = ("chat", "completion")  # kinds rendered with a source's chat settings (mixtures/templates.py)

INDEX_SCHEMA = pa.schema([
    ("shard", pa.int32()),        # shard number within the stage (tokens-NNNNN.u32)
    ("offset", pa.int64()),       # first token of the piece within the shard
    ("length", pa.int32()),       # tokens in the piece (<= seq_len)
    ("source", pa.string()),      # the mixture's source name
    ("doc_id", pa.string()),      # the record id in the source dataset
    ("doc_start", pa.int64()),    # the piece's first token within its document
    ("doc_tokens", pa.int64()),   # tokens of the whole document (a stage may hold only part of it)
    ("piece_index", pa.int32()),  # 0-based piece number within the document's slice in this stage
    ("num_pieces", pa.int32()),   # pieces of that slice
    ("epoch", pa.int32()),        # which pass over the source this piece comes from (0 = first)
])
PAIR_INDEX_SCHEMA = INDEX_SCHEMA.append(pa.field("chosen_length", pa.int32()))  # tokens of the chosen sequence
QUARANTINE_SCHEMA = pa.schema([("source", pa.string()), ("id", pa.string()), ("reason", pa.string())])
