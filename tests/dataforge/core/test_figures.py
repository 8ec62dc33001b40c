"""Report charts: the per-node generator funnel keeps graph order and every reason, and is a real PNG."""

from __future__ import annotations

from collections import Counter

from dataforge.summary import RunStats


def test_node_funnel_rows_follow_graph_order_with_every_reason_and_draw_a_png(tmp_path):
    stats = RunStats()
    for name, n_in, n_out, dropped, quarantined in (("grade", 12, 6, {"below_threshold": 4, "off_topic": 1},
                                                     {"bad_json": 1}),
                                                    ("ask", 12, 12, {}, {}), ("answer", 12, 12, {}, {})):
        node = stats.node(name)
        node.update({"in": n_in, "out": n_out})
        node["dropped"], node["quarantined"] = Counter(dropped), Counter(quarantined)
    rows = stats.funnel_rows(["ask", "answer"])
    assert [r["name"] for r in rows] == ["ask", "answer", "grade"]  # nodes the order misses come last
    assert rows[2] == {"name": "grade", "in": 12, "kept": 6, "dropped": {"below_threshold": 4, "off_topic": 1},
                       "quarantined": {"bad_json": 1}}
    png = stats.save_funnel_png(tmp_path / "sub" / "funnel.png", ["ask", "answer"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert [p.name for p in png.parent.iterdir()] == ["funnel.png"]  # no temp file left beside it
