"""Run statistics: per-node counts of walks in and out, drops and quarantines by reason, LLM calls."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any


class RunStats:
    """Counters that merge across partitions (`merge`) and render as a table (`table`).

    `walks == records + dropped + quarantined` always holds: no walk disappears silently.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"in": 0, "out": 0, "dropped": Counter(), "quarantined": Counter(), "llm_calls": 0,
                     "cache_hits": 0})
        self.totals: Counter = Counter()
        # Per executor process ("host:pid"): partitions run and backends built there.
        self.executors: dict[str, Counter] = defaultdict(Counter)

    def node(self, name: str) -> dict[str, Any]:
        return self.nodes[name]

    def to_json(self) -> dict[str, Any]:
        return {"totals": dict(sorted(self.totals.items())),
                "executors": {k: dict(v) for k, v in sorted(self.executors.items())},
                "nodes": {n: {k: dict(sorted(v.items())) if isinstance(v, Counter) else v for k, v in d.items()}
                          for n, d in sorted(self.nodes.items())}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunStats:
        s = cls()
        s.totals.update(data.get("totals", {}))
        for k, v in data.get("executors", {}).items():
            s.executors[k].update(v)
        for n, d in data.get("nodes", {}).items():
            tgt = s.nodes[n]
            for k, v in d.items():
                tgt[k] = Counter(v) if isinstance(v, dict) else v
        return s

    def merge(self, other: RunStats) -> RunStats:
        self.totals.update(other.totals)
        for k, v in other.executors.items():
            self.executors[k].update(v)
        for n, d in other.nodes.items():
            tgt = self.nodes[n]
            for k, v in d.items():
                if isinstance(v, Counter):
                    tgt[k].update(v)
                else:
                    tgt[k] += v
        return self

    def reasons(self, kind: str) -> dict[str, int]:
        """`{"node:reason": count}` over all nodes, for kind `dropped` or `quarantined`."""
        return {f"{n}:{r}": c for n, d in sorted(self.nodes.items()) for r, c in sorted(d[kind].items())}

    def line(self) -> str:
        t = self.totals
        calls = t["llm_calls"]
        made = f"{calls} LLM calls" if calls else "0 LLM calls (everything from the cache)"
        return (f"{t['walks']} walks -> {t['records']} records, {t['dropped']} dropped, "
                f"{t['quarantined']} quarantined; {made}, {t['cache_hits']} cache hits")

    def table(self, title: str = "generation"):
        from rich.table import Table

        tab = Table(title=title)
        for col in ("node", "in", "out", "dropped", "quarantined", "LLM calls", "cache hits"):
            tab.add_column(col, justify="left" if col in ("node", "dropped", "quarantined") else "right")
        for n, d in sorted(self.nodes.items()):
            fmt = lambda c: ", ".join(f"{r}={k}" for r, k in sorted(c.items())) or "0"  # noqa: E731
            tab.add_row(n, str(d["in"]), str(d["out"]), fmt(d["dropped"]), fmt(d["quarantined"]),
                        str(d["llm_calls"]), str(d["cache_hits"]))
        return tab

    def funnel_rows(self, order: list[str] | None = None) -> list[dict[str, Any]]:
        """Per node (in `order`, e.g. the graph's topological order; else by name): walks in, passed on
        (`kept`), and stopped there by drop and quarantine reason: the rows of a funnel chart."""
        names = [n for n in (order or []) if n in self.nodes] + sorted(set(self.nodes) - set(order or []))
        return [{"name": n, "in": self.nodes[n]["in"], "kept": self.nodes[n]["out"],
                 "dropped": dict(self.nodes[n]["dropped"]), "quarantined": dict(self.nodes[n]["quarantined"])}
                for n in names]

    def save_funnel_png(self, path, order: list[str] | None = None, title: str = "Generation funnel per node"):
        """The per-node funnel as a PNG (see `dataforge.core.figures.funnel_chart`)."""
        from dataforge.core.figures import funnel_chart

        return funnel_chart(self.funnel_rows(order), path, title, unit="walks", kept="passed on")
