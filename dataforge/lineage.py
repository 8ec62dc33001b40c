"""Lineage: what each output row says about how it was made.

Every row's `metadata` (a JSON string) holds, under `generator`: the graph's name and id, the walk
(id, index, node path), the global seed, the seed document's id, and one entry per node visited with
its input and output, the prompt template's hash, the model id, the sampling parameters (including the
call's own seed) and the attempts it took. Dropped and quarantined walks carry the same lineage up to
the node that stopped them, plus that node and the reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataforge.core.hashing import stable_hash
from dataforge.core.records import ChatRecord, dump_metadata, parse_body, record_to_row

if TYPE_CHECKING:
    from dataforge.engine import Engine, RunResult, WalkState
    from dataforge.walk import WalkPlan

# Dropped and quarantined walks: one row each, with the lineage up to where they stopped.
STOPPED_DDL = "id string, node string, reason string, detail string, metadata string"


def walk_lineage(engine: Engine, plan: WalkPlan, state: WalkState) -> dict[str, Any]:
    g = engine.graph
    return {"generator": {"graph": g.name, "graph_id": g.id, "seed": engine.seed, "seed_doc_id": plan.seed_id,
                          "walk": {"id": plan.id, "key": plan.key, "index": plan.index,
                                   "path": list(plan.path)},
                          "model": engine.backend.model_id, "steps": state.steps}}


def source_of(engine: Engine) -> str:
    return f"dataforge:{engine.graph.name}"


def finish(engine: Engine, plan: WalkPlan, state: WalkState, out: RunResult) -> None:
    """Turn a finished walk into an output, dropped or quarantined row (never nothing)."""
    meta = walk_lineage(engine, plan, state)
    if state.status == "done":
        try:
            row = record_row(engine, plan, state, meta)
        except (ValueError, TypeError, NotImplementedError) as e:
            state.stop("quarantined", plan.path[-1], "bad_record", f"{type(e).__name__}: {e}")
            engine_stats = out.stats.node(plan.path[-1])
            engine_stats["quarantined"]["bad_record"] += 1
        else:
            out.records.append(row)
            if engine.emit_calls:
                out.calls.extend(call_rows(engine, plan, state))
            return
    row = {"id": plan.id, "node": state.node, "reason": state.reason, "detail": state.detail[:2000],
           "metadata": dump_metadata(meta)}
    (out.dropped if state.status == "dropped" else out.quarantined).append(row)


def record_row(engine: Engine, plan: WalkPlan, state: WalkState, meta: dict[str, Any]) -> dict[str, Any]:
    value, src = state.value, source_of(engine)
    meta["generator"]["sink"] = plan.path[-1]
    # A sink struct may add a summary beside the lineage (`record_metadata()`), e.g. IFThink's
    # constraints per turn and mode; its fields become the record through the contract (`to_record()`).
    if callable(getattr(value, "record_metadata", None)):
        meta.update(value.record_metadata())
    record = {"id": plan.id, "source": src, "metadata": meta, **value.to_record()}
    kind, _, _ = parse_body(record)
    if kind != engine.graph.record_kind:  # a to_record() override that left its struct's kind
        raise ValueError(f"{type(value).__name__}.to_record() made a {kind} record in a graph of "
                         f"{engine.graph.record_kind} records")
    return record_to_row(record)[1]


def as_messages(prompt: Any) -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return [{"role": m["role"], "content": m["content"]} for m in prompt]


def call_rows(engine: Engine, plan: WalkPlan, state: WalkState) -> list[dict[str, Any]]:
    """Each LLM call behind a finished walk as an SFT example: the prompt, then the reply."""
    rows = []
    for i, c in enumerate(state.calls):
        info = c.get("info", {})
        meta = {"generator": {"graph": engine.graph.name, "walk_id": plan.id, "node": c["node"],
                              "seed_doc_id": plan.seed_id, "template_hash": info.get("template_hash"),
                              "model": info.get("model"), "sampling": info.get("sampling")}}
        reply = {"role": "assistant", "content": c["reply"]}
        if c.get("reasoning"):
            reply["reasoning_content"] = c["reasoning"]  # the trace the backend returned apart
        messages = as_messages(c["prompt"]) + [reply]
        rows.append(ChatRecord(messages, id=stable_hash([plan.id, c["node"], i], 32),
                               source=f"{source_of(engine)}:{c['node']}", metadata=meta).to_row())
    return rows
