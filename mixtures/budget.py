"""Can this build be done? Epochs, driver memory and disk space, checked before the work that needs them.

A budget no source can meet must fail in one line naming the stage, the source, the tokens it has and
the tokens asked, before the planner lays out anything proportional to it (an absurd budget would
otherwise grow the driver's memory until the machine gives up). The checks run in order of what is known:

- from the spec alone (mixtures/spec.py): sizes in range, weights that sum sensibly;
- before Spark starts: the shard bytes the stage budgets need against the registry's free disk;
- once token totals are known (after tokenization, before any shard is written): epochs per source
  (capped by `max_epochs`, else by MAX_EPOCHS), the planner's driver memory, and the exact planned bytes.
"""

from __future__ import annotations

import math
import os
import resource
import shutil
from pathlib import Path

import numpy as np

from dataforge.core.errors import ForgeError
from mixtures.format import MASK_DTYPE, TOKEN_DTYPE
from mixtures.spec import MAX_EPOCHS, Mixture

TOKEN_BYTES = np.dtype(TOKEN_DTYPE).itemsize
MASK_BYTES = np.dtype(MASK_DTYPE).itemsize
# Driver memory per planned piece over planning and writing, and per (document, epoch) of a source's
# epoch stream. Planning alone peaks near 170 bytes a piece (4M pieces at seq_len 64); the index's Python
# lists and the writer's seen-set add less than as much again. Only the order of magnitude matters here.
PLAN_BYTES_PER_PIECE = 400
STREAM_BYTES_PER_DOC_EPOCH = 64
# Index rows compress well; this bounds the Parquet bytes per piece generously.
INDEX_BYTES_PER_PIECE = 48


def _fmt(n: float) -> str:
    return f"{n:,.0f}" if n < 1e15 else f"{n:.3g}"


def check_epochs(mixture: Mixture, train_tokens: dict[str, int]) -> None:
    """Raise a one-line ForgeError naming the first stage and source that needs more passes than allowed.

    A source's cap is its `max_epochs`, else MAX_EPOCHS; the check is over all stages up to each one.
    """
    cum = dict.fromkeys(train_tokens, 0)
    for st in mixture.stages:
        for name, t in st.target_tokens().items():
            cum[name] += t
            have, cap = train_tokens[name], mixture.source(name).max_epochs
            if t > 0 and have == 0:
                raise ForgeError(f"source {name} has no training tokens but stage {st.name} asks for {t}; "
                                 "check its path or the quarantine report")
            need = cum[name] / have if have else 0.0
            limit = cap if cap is not None else MAX_EPOCHS
            if need > limit + 1e-9:
                shown = f"{math.ceil(need * 10) / 10:.1f}" if need < 1e6 else f"{need:.3g}"
                capped = f"max_epochs={cap:g}" if cap is not None else f"more than the {MAX_EPOCHS} allowed " \
                                                                       "without max_epochs"
                raise ForgeError(f"source {name} needs {shown} epochs in stage {st.name}, {capped}: it has "
                                 f"{_fmt(have)} training tokens and the stages up to {st.name} ask for "
                                 f"{_fmt(cum[name])}; lower its weight or the stage budget, "
                                 f"{'raise' if cap is not None else 'set'} max_epochs, or add data")


def memory_limit() -> int:
    """Bytes this process may use: the least of physical memory, RLIMIT_AS and the cgroup's memory.max."""
    limits = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    try:
        raw = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if raw.isdigit():
            limits.append(int(raw))
    except OSError:
        pass
    return min(limits)


def check_plan_memory(mixture: Mixture, docs: dict, train_tokens: dict[str, int]) -> None:
    """Refuse a plan whose tables would not fit in the driver's memory, before allocating them.

    Pieces are estimated per stage and source from the source's average pieces per token at that
    stage's seq_len; the epoch stream holds one entry per training document and epoch it reads.
    """
    limit = memory_limit()
    total = 0.0
    cum = dict.fromkeys(train_tokens, 0)
    for st in mixture.stages:
        pieces = 0.0
        for name, t in st.target_tokens().items():
            have = train_tokens[name]
            if not t or not have:
                continue
            d = docs[name]
            ntok = d.ntok[d.train]
            per_epoch = float((-(-ntok // st.seq_len)).sum())
            pieces += t / have * per_epoch + 1
            cum[name] += t
        total += pieces * PLAN_BYTES_PER_PIECE
        stream = sum(math.ceil(c / train_tokens[n]) * len(docs[n].train) for n, c in cum.items() if c)
        need = total + stream * STREAM_BYTES_PER_DOC_EPOCH
        if need > limit:
            raise ForgeError(f"stage {st.name}: planning needs about {need / 2**30:,.1f} GiB of driver memory "
                             f"(~{_fmt(pieces)} pieces in this stage), more than the {limit / 2**30:,.1f} GiB "
                             "this process may use; lower the stage tokens, raise seq_len, or build on a larger "
                             "driver")


def free_bytes(path: Path) -> tuple[Path, int]:
    """Free bytes on the filesystem that holds `path` (or its nearest existing parent)."""
    p = Path(path).absolute()
    while not p.exists() and p != p.parent:
        p = p.parent
    return p, shutil.disk_usage(p).free


def check_disk(registry: Path, need: int, what: str) -> None:
    """Refuse in one line, with both numbers, when `need` bytes do not fit on the registry's filesystem."""
    where, free = free_bytes(registry)
    if need > free:
        raise ForgeError(f"registry {registry}: {what} need {_fmt(need)} bytes but {where} has {_fmt(free)} free; "
                         "free up space, pass --registry DIR on a larger disk, or lower the stage tokens")


def spec_bytes(mixture: Mixture, chat_sources: set[str], tokenizer_bytes: int) -> int:
    """A lower bound of the bytes a build writes, from the spec alone: every stage's shards (and masks
    of stages that use a chat source) plus the tokenizer copy."""
    total = tokenizer_bytes
    for st in mixture.stages:
        sft = any(t > 0 and n in chat_sources for n, t in st.target_tokens().items())
        total += st.budget * (TOKEN_BYTES + (MASK_BYTES if sft else 0))
    return total


def plan_bytes(files: list[dict], pieces: int, tokenizer_bytes: int) -> int:
    """The bytes a planned build writes: shard and mask files exactly, indexes and tokenizer bounded."""
    shards = sum(f["ntok"] * (TOKEN_BYTES + (MASK_BYTES if f["mask"] else 0)) for f in files)
    return shards + pieces * INDEX_BYTES_PER_PIECE + tokenizer_bytes
