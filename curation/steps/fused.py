"""The fused record pass: a run of record steps applied to each Arrow batch, inside `mapInArrow`.

Each task unpickles the step objects once and calls `open()` once per step, so models and tables are
loaded once per partition. Records flow through the steps in order, as in a datatrove pipeline, and
stop at the first step that drops them. A step that raises on a record quarantines that record
(`step_error`) instead of failing the job; a `ForgeError` (the judge's server is down, a key is
refused, a model file is missing) is not the record's fault and stops the job with its one line.

Runs of per-record steps (datatrove filters, plain `judge` steps) take one document through the whole
run before the next, as datatrove's own executor does: datatrove memoizes its word and sentence splits
of the last few texts, so Gopher, FineWeb and C4 then tokenize a document once between them instead of
once each. Steps that judge whole batches (embedding and LLM models) still see the batch at once.
"""

from __future__ import annotations

import json
from typing import Any

from curation.steps.base import Doc, Quarantine
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json

WORK_COLUMNS = ["_node", "file_index", "line", "id", "source", "kind", "layout", "text", "record", "metadata"]
WORK_DDL = ("_node long, file_index int, line long, id string, source string, kind string, layout string, "
            "text string, record string, metadata string")
STAGED_DDL = WORK_DDL + ", step string, decision string, reason string, cluster_id string"


def _judge(step: Any, docs: list[Doc]) -> list[tuple[str, str] | None]:
    """(decision, reason) per doc, or None to keep; falls back to one-by-one when a batch raises."""
    def verdict(r):
        return None if r is None else ("quarantined" if isinstance(r, Quarantine) else "dropped", str(r))

    try:
        return [verdict(r) for r in step.judge_batch(docs)]
    except ForgeError:
        raise  # the user must fix it (judge server down, bad key): stop with one line, quarantine nothing
    except Exception:  # noqa: BLE001 - isolate the record that fails, keep the rest of the batch
        out: list[tuple[str, str] | None] = []
        for d in docs:
            try:
                out.append(verdict(step.judge_batch([d])[0]))
            except ForgeError:
                raise
            except Exception:  # noqa: BLE001
                out.append(("quarantined", "step_error"))
        return out


def per_document(step: Any) -> bool:
    """True when batching gains the step nothing: it judges one record at a time anyway."""
    from curation.steps.base import RecordStep
    from curation.steps.datatrove import DatatroveStep
    from curation.steps.where import Where

    if isinstance(step, Where):
        return per_document(step._inner())
    if isinstance(step, DatatroveStep):
        return not step.is_filter or step.obj.batch_size <= 1
    return isinstance(step, RecordStep) and type(step).judge_batch is RecordStep.judge_batch


def segments(steps: list[tuple[str, Any]]) -> list[tuple[bool, list[tuple[str, Any]]]]:
    """Consecutive steps grouped into (per_document, steps) runs, in pipeline order."""
    out: list[tuple[bool, list[tuple[str, Any]]]] = []
    for name, step in steps:
        mode = per_document(step)
        if out and out[-1][0] == mode:
            out[-1][1].append((name, step))
        else:
            out.append((mode, [(name, step)]))
    return out


def _apply(segs, docs: list[Doc], verdict: list) -> None:
    """Fill `verdict[i]` = (step, decision, reason) for every doc some step drops or quarantines."""
    alive = list(range(len(docs)))
    for doc_major, seg in segs:
        if not alive:
            return
        nxt = []
        if doc_major:
            for i in alive:
                for name, step in seg:
                    res = _judge(step, [docs[i]])[0]
                    if res is not None:
                        verdict[i] = (name, *res)
                        break
                else:
                    nxt.append(i)
            alive = nxt
            continue
        for name, step in seg:
            results = _judge(step, [docs[i] for i in alive])
            nxt = []
            for i, res in zip(alive, results, strict=True):
                if res is None:
                    nxt.append(i)
                else:
                    verdict[i] = (name, *res)
            alive = nxt
            if not alive:
                return


def _rewritten(kind: str, body: dict[str, Any], d: Doc) -> dict[str, Any]:
    """`text` and `record` after the steps: a text record takes a rewritten text, a chat record rewritten
    messages; preference and completion records keep their fields (their `text` is only judged)."""
    from dataforge.core.records import judged_text

    if kind == "text" and d.text != body["text"]:
        body = {**body, "text": d.text}
    elif kind == "chat" and d.messages is not None and d.messages != body["messages"]:
        body = {**body, "messages": d.messages}
    else:
        return {}
    return {"text": judged_text(kind, body), "record": canonical_json(body)}


def fused_mapper(steps: list[tuple[str, Any]]):
    """The function given to `mapInArrow` for a run of record steps."""
    segs = segments(steps)

    def run(batches):
        import pyarrow as pa

        for _, step in steps:
            step.open()
        schema = None
        for batch in batches:
            rows = batch.to_pylist()
            bodies = [json.loads(r["record"]) for r in rows]
            docs = [Doc(id=r["id"], text=r["text"], source=r["source"] or "",
                        metadata=json.loads(r["metadata"]) if r["metadata"] else {},
                        messages=b["messages"] if r["kind"] == "chat" else None, kind=r["kind"])
                    for r, b in zip(rows, bodies, strict=True)]
            verdict: list[tuple[str, str, str] | None] = [None] * len(rows)
            _apply(segs, docs, verdict)
            out = []
            for r, b, d, v in zip(rows, bodies, docs, verdict, strict=True):
                if v is None:
                    r.update(_rewritten(r["kind"], b, d), metadata=canonical_json(d.metadata), step=None,
                             decision="kept", reason=None, cluster_id=None)
                else:
                    r.update(step=v[0], decision=v[1], reason=v[2], cluster_id=None)
                out.append(r)
            if schema is None:
                schema = _staged_schema()
            yield pa.RecordBatch.from_pylist(out, schema=schema)

    return run


def _staged_schema():
    import pyarrow as pa

    from curation.readers import _parsed_schema

    p = _parsed_schema()
    return pa.schema([
        ("_node", pa.int64()), ("file_index", pa.int32()), ("line", pa.int64()), p.field("id"), p.field("source"),
        p.field("kind"), p.field("layout"), p.field("text"), p.field("record"), p.field("metadata"),
        ("step", pa.string()), ("decision", pa.string()), ("reason", pa.string()), ("cluster_id", pa.string()),
    ])
