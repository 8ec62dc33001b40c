"""`forge train trace RUN_DIR --step N`: which documents step N trained on, and where they came from.

The packer is deterministic over piece lengths, so step N's global batch is replayed from the
nearest checkpoint's loader state (or from the start) without touching the model. Each document is
then traced through the mixture's manifest to its source dataset: a generated record's lineage (its
walk through the generator graph, from the record's metadata) and a curated record's ledger rows
(step, decision, reason). The replay is checked against the step's line in metrics.jsonl.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dataforge.core.errors import ForgeError
from training.checkpoint import all_clients
from training.packing import PackerState


@dataclass
class TracedDoc:
    """One piece of step N's batch and its provenance."""

    doc_id: str
    source: str
    stage: str
    piece_index: int
    num_pieces: int
    tokens: int
    row: int
    rank: int
    micro_step: int
    dataset: str | None = None
    dataset_kind: str | None = None
    walk: Any = None
    lineage: dict[str, Any] | None = None
    ledger: list[dict[str, Any]] = field(default_factory=list)


def _generator_lineage(meta: dict[str, Any]) -> tuple[list[str] | None, dict[str, Any] | None]:
    """The walk (node path) and a summary of the generator lineage in a record's metadata.

    The generator writes `metadata.generator = {graph, graph_id, seed, seed_doc_id, walk: {id, index,
    path}, model, steps}`; curation keeps metadata, so curated records made from generated ones have it too.
    """
    gen = meta.get("generator")
    if not isinstance(gen, dict):
        return None, None
    walk = gen.get("walk") if isinstance(gen.get("walk"), dict) else {}
    summary = {k: gen[k] for k in ("graph", "graph_id", "seed_doc_id", "model", "sink") if k in gen}
    if walk.get("id"):
        summary["walk_id"] = walk["id"]
    path = walk.get("path")
    return (list(path) if isinstance(path, list) else None), summary


def _records_by_id(dataset: Path, ids: set[str]) -> dict[str, dict[str, Any]]:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from dataforge.core.io import parquet_files

    files = parquet_files(dataset)
    if not files:
        return {}
    table = ds.dataset([str(f) for f in files], format="parquet").to_table(
        filter=pc.field("id").isin(sorted(ids)), columns=["id", "metadata"])
    out = {}
    for row in table.to_pylist():
        raw = row.get("metadata")
        out[row["id"]] = json.loads(raw) if isinstance(raw, str) and raw else {}
    return out


def _ledger_by_id(dataset: Path, ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    ledger = dataset / "ledger"
    files = sorted(ledger.rglob("*.parquet")) if ledger.is_dir() else []
    if not files:
        return {}
    d = ds.dataset([str(f) for f in files], format="parquet")
    cols = [c for c in ("id", "input", "source", "step", "decision", "reason", "cluster_id") if c in d.schema.names]
    out: dict[str, list[dict[str, Any]]] = {}
    for row in d.to_table(filter=pc.field("id").isin(sorted(ids)), columns=cols).to_pylist():
        out.setdefault(row.pop("id"), []).append(row)
    return out


def _dataset_kind(path: Path) -> str | None:
    try:
        return json.loads((path / "manifest.json").read_text()).get("kind")
    except (OSError, json.JSONDecodeError):
        return None


def replay_step(run_dir: Path, step: int):
    """(mixture, loader info, StepPlan) of 1-based `step`, replayed from the nearest checkpoint."""
    from mixtures import open_mixture
    from training.loader import MixtureLoader

    info_path = run_dir / "run.json"
    if not info_path.is_file():
        raise ForgeError(f"{run_dir}: no run.json; is this a run dir written by `forge train`?")
    info = json.loads(info_path.read_text())
    mx_ref = info["mixture_path"] if Path(info["mixture_path"]).is_dir() else info["mixture_id"]
    mx = open_mixture(mx_ref, registry=info["run"].get("registry"))
    if mx.id != info["mixture_id"]:
        raise ForgeError(f"{run_dir}: trained on mixture {info['mixture_id']}, found {mx.id} at {mx_ref}")
    loader = MixtureLoader(mx, info["micro_batch_size"], info["grad_accum"], world=info["world_size"],
                           lookahead=info["lookahead"])
    starts = [c["loader"]["packer"] for c in all_clients(run_dir) if c["loader"]["packer"]["step"] <= step - 1]
    if starts:
        loader.packer.state = PackerState.from_dict(max(starts, key=lambda s: s["step"]))
    while (plan := loader.packer.next_step()) is not None:
        if plan.step == step - 1:
            return mx, info, plan
    raise ForgeError(f"{run_dir}: step {step} is past the end of the mixture "
                     f"({loader.packer.state.step} steps in all)")


def trace(run_dir: str | Path, step: int) -> dict[str, Any]:
    """The documents of step `step` (1-based) with their provenance, and a check against metrics.

    Example:
        t = trace("runs/tiny", step=3); t["documents"][0]["ledger"]
    """
    run_dir = Path(run_dir)
    if step < 1:
        raise ForgeError(f"--step {step}: steps are numbered from 1")
    mx, info, plan = replay_step(run_dir, step)
    stage = mx.stages[plan.stage]
    per_micro = len(plan.rows) // (info["grad_accum"] * info["world_size"])
    docs: list[TracedDoc] = []
    for r, row in enumerate(plan.rows):
        j = r // per_micro
        for i in row:
            p = stage.piece(i)
            docs.append(TracedDoc(doc_id=p.doc_id, source=p.source, stage=stage.name, piece_index=p.piece_index,
                                  num_pieces=p.num_pieces, tokens=len(p.tokens), row=r,
                                  rank=j // info["grad_accum"], micro_step=j % info["grad_accum"]))
    sources = mx.manifest.extra.get("sources") or {}
    for name in sorted({d.source for d in docs}):
        path = Path(sources.get(name, {}).get("path", ""))
        mine = [d for d in docs if d.source == name]
        if not path.is_dir():
            continue
        ids = {d.doc_id for d in mine}
        records, ledger, kind = _records_by_id(path, ids), _ledger_by_id(path, ids), _dataset_kind(path)
        for d in mine:
            d.dataset, d.dataset_kind = str(path), kind
            meta = records.get(d.doc_id)
            if meta:
                d.walk, d.lineage = _generator_lineage(meta)
            d.ledger = ledger.get(d.doc_id, [])
    by_source: dict[str, int] = {}
    for d in docs:
        by_source[d.source] = by_source.get(d.source, 0) + d.tokens
    return {"run": str(run_dir), "step": step, "stage": stage.name, "mixture_id": mx.id,
            "seq_len": plan.seq_len, "rows": len(plan.rows), "tokens": plan.tokens, "tokens_by_source": by_source,
            "matches_metrics": _check_metrics(run_dir, step, plan.tokens, stage.name),
            "documents": [asdict(d) for d in docs]}


def _check_metrics(run_dir: Path, step: int, tokens: int, stage: str) -> bool | None:
    """True when the replayed batch has the tokens and stage metrics.jsonl logged (None: not logged)."""
    from training.metrics import MetricsLog

    for rec in MetricsLog(run_dir / "metrics.jsonl").read():
        if rec["step"] == step:
            return rec["tokens"] == tokens and rec["stage"] == stage
    return None
