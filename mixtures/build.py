"""Build a mixture version: resolve, tokenize, plan, write shards, commit to the registry atomically.

The input key is known before any Spark work (a hash of the spec, the source ids, the tokenizer hash and
the format version), so building inputs the registry already holds is a no-op. The id binds that key to
the content root of the files written (mixtures/identity.py), so shards are written into a private
staging directory first and moved into the entry once their hashes, hence the id, are known.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dataforge.core.commit import atomic_dir
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.lock import OutputLock
from dataforge.core.manifest import Manifest, is_dataset_dir
from dataforge.core.outputs import check_not_input
from dataforge.core.progress import spark_tasks
from mixtures.budget import check_disk, plan_bytes, spec_bytes
from mixtures.format import (
    FORMAT_VERSION,
    INDEX_ARRAY_FILE,
    INDEX_COLUMNS,
    INDEX_DTYPE,
    INDEX_FILE,
    INDEX_SCHEMA,
    MASKED_KINDS,
    PAIR_INDEX_SCHEMA,
    QUARANTINE_FILE,
    QUARANTINE_SCHEMA,
    TEMPLATED_KINDS,
    TOKENIZER_DIR,
)
from mixtures.identity import content_root, input_key, mixture_id
from mixtures.pairs import quarantine_long_pairs
from mixtures.plan import Pieces, Plan, SourceDocs, build_plan
from mixtures.registry import find_built, freeze, registry_dir
from mixtures.sources import ResolvedSource, resolve_source
from mixtures.spec import Mixture
from mixtures.templates import ChatSettings, chat_settings, template_hashes
from mixtures.tokenizer import TokenizerInfo, load_tokenizer_info, tokenizer_identity


class Progress(Protocol):
    """Where a build reports its steps (the CLI draws them with rich)."""

    def step(self, text: str, total: int | None = None, unit: str = "") -> None: ...
    def advance(self, n: int) -> None: ...
    def update(self, completed: int, total: int) -> None: ...


class _Quiet:
    def step(self, text: str, total: int | None = None, unit: str = "") -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def update(self, completed: int, total: int) -> None:
        pass


@dataclass(frozen=True, slots=True)
class BuildResult:
    """What `build_mixture` returns: the id, the registry entry's path, whether this call built it, and
    the executor processes ("host:pid") that wrote its shard files."""

    id: str
    path: Path
    built: bool
    writers: tuple[str, ...] = ()


def mixture_key(mixture: Mixture, sources: dict[str, ResolvedSource], tok: TokenizerInfo,
                templates: dict[str, str] | None = None) -> str:
    """The build's input key: what the registry is searched for before any work (`templates`: the
    chat-template sha256s of `mixtures.templates.template_hashes`)."""
    return input_key(mixture.identity_json(), {n: s.manifest_id for n, s in sources.items()}, tok.hash,
                     templates=templates)


def rendered_sources(sources: dict[str, ResolvedSource]) -> list[str]:
    """The sources whose records are rendered with their chat settings (chat and completion), sorted."""
    return sorted(n for n, s in sources.items() if s.kind in TEMPLATED_KINDS)


@contextlib.contextmanager
def staging_dir(root: Path, key: str):
    """A private directory in the registry (same filesystem, so its files move into the entry by rename);
    removed on exit, whatever happens."""
    root.mkdir(parents=True, exist_ok=True)
    stage = root / f".{key}.staging-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    stage.mkdir()
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def sweep_staging(root: Path, key: str) -> None:
    """Remove staging dirs of builds of `key` that died: the caller holds the key's lock, so no live
    build owns one."""
    for old in root.glob(f".{key}.staging-*"):
        shutil.rmtree(old, ignore_errors=True)


def resolve_inputs(mixture: Mixture, spec_dir: Path | None = None, registry: Path | None = None):
    """Sources and tokenizer, resolved and hashed (no Spark): everything the id depends on."""
    sources = {n: resolve_source(mixture.source(n), spec_dir, registry) for n in mixture.stage_sources()}
    return sources, tokenizer_identity(mixture.tokenizer)


def _all_docs(names: list[str], docs: dict[str, SourceDocs]) -> dict[str, Any]:
    """The sources' documents concatenated in `names` order (the plan's source codes): where each source
    starts, tokens, chosen lengths (-1: not a pair), ids, and which sources hold pairs."""
    return {"first": np.cumsum([0] + [len(docs[n].ntok) for n in names]),
            "ntok": np.concatenate([docs[n].ntok for n in names]),
            "split": np.concatenate([docs[n].split if docs[n].split is not None else np.full(len(docs[n].ntok), -1)
                                     for n in names]),
            "ids": pa.concat_arrays([docs[n].doc_ids.cast(pa.string()) for n in names]),
            "pairs": np.array([docs[n].split is not None for n in names], bool)}


def _index_array(table: Pieces, first_file: int, every: dict[str, Any]) -> np.ndarray:
    """index.npy (mixtures/format.py INDEX_COLUMNS): one int64 row per column, from the plan's arrays."""
    row = every["first"][table.src] + table.doc
    cols = {"shard": table.file - first_file, "offset": table.offset, "length": table.length, "source": table.src,
            "doc_start": table.start, "doc_tokens": every["ntok"][row], "piece_index": table.piece_index,
            "num_pieces": table.num_pieces, "epoch": table.epoch, "chosen_length": every["split"][row]}
    return np.stack([np.asarray(cols[c], dtype=INDEX_DTYPE) for c in INDEX_COLUMNS])


def _index_table(table: Pieces, index: np.ndarray, names: list[str], every: dict[str, Any]) -> pa.Table:
    """index.parquet: index.npy's columns plus the source names and doc ids (Arrow takes, not Python lists)."""
    source = pa.DictionaryArray.from_arrays(pa.array(table.src, pa.int32()), pa.array(names, pa.string()))
    cols = {**dict(zip(INDEX_COLUMNS, index, strict=True)), "source": source.cast(pa.string()),
            "doc_id": every["ids"].take(pa.array(every["first"][table.src] + table.doc))}
    pairs = bool(every["pairs"][np.unique(table.src)].any())  # a pair stage holds pairs only (plan.py)
    schema = PAIR_INDEX_SCHEMA if pairs else INDEX_SCHEMA
    return pa.table({k: pa.array(cols[k]).cast(schema.field(k).type) for k in schema.names}, schema=schema)


def _write_indexes(root: Path, plan: Plan, docs: dict[str, SourceDocs]) -> None:
    names = sorted(docs)  # the plan's source codes; index.npy keeps them (the manifest's sorted sources)
    every = _all_docs(names, docs)
    groups = [(s["files"], s["pieces"]) for s in plan.stages] + [(v["files"], v["pieces"])
                                                                  for v in plan.validation.values()]
    for files, table in groups:
        if not files:
            continue
        folder = root / Path(plan.files[files[0]]["tokens"]).parent
        folder.mkdir(parents=True, exist_ok=True)
        index = _index_array(table, files[0], every)
        with open(folder / INDEX_ARRAY_FILE, "wb") as f:
            np.lib.format.write_array(f, index, version=(1, 0), allow_pickle=False)
        pq.write_table(_index_table(table, index, names, every), folder / INDEX_FILE, compression="zstd")


def _extra(mixture: Mixture, plan: Plan, sources: dict[str, ResolvedSource], tok: TokenizerInfo,
           quarantined: int) -> dict[str, Any]:
    def folder(files):
        return str(Path(plan.files[files[0]]["tokens"]).parent) if files else None

    stages = [{"name": s["name"], "tokens": s["tokens"], "budget": s["budget"], "seq_len": s["seq_len"],
               "sft": s["sft"], "pairs": s["pairs"], "num_pieces": int(len(s["pieces"].length)), "dir": folder(s["files"]),
               "shards": [{"tokens": plan.files[f]["tokens"], "mask": plan.files[f]["mask"],
                           "ntok": plan.files[f]["ntok"]} for f in s["files"]],
               "sources": s["sources"]} for s in plan.stages]
    validation = {n: {"seq_len": v["seq_len"], "pairs": v["pairs"], "docs": v["docs"], "tokens": v["tokens"], "dir": folder(v["files"]),
                      "num_pieces": int(len(v["pieces"].length)),
                      "shards": [{"tokens": plan.files[f]["tokens"], "mask": plan.files[f]["mask"],
                                  "ntok": plan.files[f]["ntok"]} for f in v["files"]]}
                  for n, v in plan.validation.items()}
    srcs = {n: {**sources[n].describe(), **plan.sources[n]} for n in sorted(sources)}
    return {"format_version": FORMAT_VERSION, "spec_hash": stable_hash(mixture.to_json(), 64),
            "tokenizer": {**tok.describe(), "path": TOKENIZER_DIR}, "sources": srcs, "stages": stages,
            "validation": validation, "quarantined": quarantined}


def build_mixture(mixture: Mixture, registry: str | Path | None = None, *, spec_dir: str | Path | None = None,
                  spark=None, master: str | None = None, partitions: int | None = None,
                  progress: Progress | None = None) -> BuildResult:
    """Materialize `mixture` into `registry/<id>` (a no-op when the registry holds a build of the same inputs).

    Args:
        registry: the registry dir (default `$FORGE_REGISTRY`, else ./registry).
        spec_dir: the spec file's dir; relative source paths are also looked up there.
        spark: a SparkSession (default: the active one, else one for `master`).
        partitions: repartition each source to this many partitions before tokenizing (None: as read).
    Example:
        result = build_mixture(mixture, "registry"); open_mixture(result.id, "registry")
    """
    from dataforge.core.spark import get_spark

    progress = progress or _Quiet()
    root = registry_dir(registry)
    spec_dir = Path(spec_dir).absolute() if spec_dir else None
    progress.step("resolving sources and tokenizer")
    sources, tok = resolve_inputs(mixture, spec_dir, root)
    templates = template_hashes(mixture, rendered_sources(sources), spec_dir)
    key, key_tok_hash = mixture_key(mixture, sources, tok, templates), tok.hash
    built = find_built(root, key)
    if built is not None:
        return BuildResult(built.id, built.path, built=False)
    check_not_input(root, [s.path for s in sources.values()], label="--registry")
    masked = {n for n, s in sources.items() if s.kind in MASKED_KINDS}  # sources with a loss mask
    check_disk(root, spec_bytes(mixture, masked, sum(map(len, tok.files.values()))), "the stages' shards")
    tok = load_tokenizer_info(mixture.tokenizer)
    if tok.hash != key_tok_hash:
        raise ForgeError(f"Mixture.tokenizer: {tok.path} changed while it was being read; rerun the build")
    chat = chat_settings(mixture, rendered_sources(sources), spec_dir, tok.chat_template)
    if any(chat[n].describe()["sha256"] != h for n, h in templates.items()):
        raise ForgeError(f"Mixture({mixture.name!r}).chat_template: a template file changed while it was being "
                         "read; rerun the build")
    # The final id is known only once the shards are hashed, so builds of the same inputs lock their key.
    with OutputLock(root / f"build-{key}", "mix build").acquire():
        built = find_built(root, key)  # committed by another build between the look above and the lock
        if built is not None:
            return BuildResult(built.id, built.path, built=False)
        sweep_staging(root, key)
        if spark is None:
            progress.step("starting Spark")
            spark = get_spark(master, app_name=f"forge-mix-{mixture.name}")
        progress.step("tokenizing sources", unit="Spark tasks")
        return _build(spark, mixture, key, root, sources, tok, partitions, progress, chat)


def _build(spark, mixture: Mixture, key: str, root: Path, sources: dict[str, ResolvedSource], tok: TokenizerInfo,
           partitions: int | None, progress: Progress, chat: dict[str, ChatSettings]) -> BuildResult:
    from mixtures.card import write_card
    from mixtures.materialize import collect_docs, tokenize_sources
    from mixtures.shards import write_shards

    tokenized, bc = tokenize_sources(spark, sources, tok, mixture.append_eos, partitions, chat)
    try:
        with spark_tasks(spark, progress.update):
            docs, quarantine = collect_docs(tokenized, sources)
        quarantine = sorted(quarantine + quarantine_long_pairs(mixture, docs),
                            key=lambda r: (r["source"], r["id"] or "", r["reason"]))
        progress.step("planning stages")
        plan = build_plan(mixture, docs)
        pieces = sum(len(t["pieces"].length) for t in [*plan.stages, *plan.validation.values()])
        check_disk(root, plan_bytes(plan.files, pieces, sum(map(len, tok.files.values()))),
                   "the planned shards, indexes and tokenizer")
        with staging_dir(root, key) as stage:
            progress.step(f"writing {len(plan.files)} shard files", unit="Spark tasks")
            with spark_tasks(spark, progress.update):
                writers = write_shards(spark, tokenized, plan, docs, stage)
            _write_indexes(stage, plan, docs)
            tok.save(stage / TOKENIZER_DIR)
            if quarantine:
                (stage / QUARANTINE_FILE).parent.mkdir(parents=True)
                pq.write_table(pa.Table.from_pylist(quarantine, schema=QUARANTINE_SCHEMA), stage / QUARANTINE_FILE)
            extra = _extra(mixture, plan, sources, tok, len(quarantine))
            if chat:
                extra["chat_templates"] = {n: c.describe() for n, c in sorted(chat.items())}
            counts = {"tokens": int(sum(s["tokens"] for s in plan.stages)), "stages": len(plan.stages),
                      "pieces": int(sum(len(s["pieces"].length) for s in plan.stages)),
                      "documents": int(sum(v["docs"] for v in plan.sources.values())),
                      "validation_tokens": int(sum(v["tokens"] for v in plan.validation.values())),
                      "quarantined": len(quarantine)}
            manifest = Manifest.build(stage, "mixture", mixture.to_json(), id=key, counts=counts, extra=extra,
                                      parents=sorted({s.manifest_id for s in sources.values()}))
            manifest.extra.update(input_key=key, content_root=content_root(manifest.files))
            manifest.id = mid = mixture_id(key, manifest.extra["content_root"])
            final = root / mid
            if is_dataset_dir(final):  # a concurrent build of the same inputs committed the same bytes
                return BuildResult(mid, final, built=False)
            with atomic_dir(final) as tmp:
                for part in sorted(stage.iterdir()):
                    os.rename(part, tmp / part.name)
                write_card(tmp, manifest)
                manifest.write(tmp)
                freeze(tmp)
    finally:
        tokenized.unpersist()
        bc.unpersist()
    return BuildResult(mid, final, built=True, writers=tuple(writers))


def build_spec(spec_path: str | Path, registry: str | Path | None = None, **kwargs) -> BuildResult:
    """Load the `mixture` defined in a spec file and build it (what `forge mix build` runs).

    Example:
        build_spec("specs/mixture.py", "registry").id
    """
    from dataforge.core.specs import load_spec

    spec_path = Path(spec_path)
    mixture = load_spec(spec_path, "mixture", Mixture)
    return build_mixture(mixture, registry, spec_dir=spec_path.absolute().parent, **kwargs)


def realized_weight_error(manifest: Manifest) -> float:
    """The largest |target - realized| weight over every stage and source of a built mixture."""
    errs = [abs(s["target_weight"] - s["realized_weight"]) for st in manifest.extra["stages"]
            for s in st["sources"].values()]
    return float(np.max(errs)) if errs else 0.0
