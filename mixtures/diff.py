"""Compare two mixture versions: spec settings, sources, and per-stage weights and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dataforge.core.manifest import Manifest


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: `where` is `mixture`, `source web` or `stage decay`; `what` names the field."""

    where: str
    what: str
    a: Any
    b: Any

    def delta(self) -> str:
        if isinstance(self.a, (int, float)) and isinstance(self.b, (int, float)) and not isinstance(self.a, bool):
            d = self.b - self.a
            return f"{d:+.4f}" if isinstance(d, float) else f"{d:+,}"
        return ""


def _fmt_missing(x):
    return "-" if x is None else x


def diff_manifests(a: Manifest, b: Manifest) -> list[Change]:
    """Every difference between mixture versions `a` and `b` (empty when they are the same version)."""
    out: list[Change] = []
    xa, xb = a.extra, b.extra
    for field in ("name", "seed", "append_eos", "shard_tokens"):
        if a.config.get(field) != b.config.get(field):
            out.append(Change("mixture", field, a.config.get(field), b.config.get(field)))
    if xa["tokenizer"]["hash"] != xb["tokenizer"]["hash"]:
        out.append(Change("mixture", "tokenizer", f"{xa['tokenizer']['name']} {xa['tokenizer']['hash'][:12]}",
                          f"{xb['tokenizer']['name']} {xb['tokenizer']['hash'][:12]}"))
    for name in sorted(set(xa["sources"]) | set(xb["sources"])):
        sa, sb = xa["sources"].get(name), xb["sources"].get(name)
        if sa is None or sb is None:
            out.append(Change(f"source {name}", "present", sa is not None, sb is not None))
            continue
        for field in ("manifest_id", "kind", "path", "max_epochs", "train_tokens", "epochs"):
            if sa.get(field) != sb.get(field):
                out.append(Change(f"source {name}", field, sa.get(field), sb.get(field)))
    stages_a = {s["name"]: s for s in xa["stages"]}
    stages_b = {s["name"]: s for s in xb["stages"]}
    order_a, order_b = list(stages_a), list(stages_b)
    if order_a != order_b:
        out.append(Change("mixture", "stages", " > ".join(order_a), " > ".join(order_b)))
    for name in order_a + [n for n in order_b if n not in stages_a]:
        sa, sb = stages_a.get(name), stages_b.get(name)
        where = f"stage {name}"
        if sa is None or sb is None:
            out.append(Change(where, "present", sa is not None, sb is not None))
            continue
        for field in ("tokens", "seq_len", "sft"):
            if sa[field] != sb[field]:
                out.append(Change(where, field, sa[field], sb[field]))
        for src in sorted(set(sa["sources"]) | set(sb["sources"])):
            wa, wb = sa["sources"].get(src), sb["sources"].get(src)
            if wa is None or wb is None:
                out.append(Change(where, f"{src}.weight", _fmt_missing(wa and wa["target_weight"]),
                                  _fmt_missing(wb and wb["target_weight"])))
                continue
            for field in ("target_weight", "realized_weight", "tokens", "epochs"):
                va, vb = wa[field], wb[field]
                if (abs(va - vb) > 1e-9) if isinstance(va, float) else va != vb:
                    out.append(Change(where, f"{src}.{field}", va, vb))
    return out
