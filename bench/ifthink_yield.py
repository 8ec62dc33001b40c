"""Verified yield of IFThink with the embedded model: kept conversations per LLM call.

    python bench/ifthink_yield.py [--instructions 8] [--turns 3] [--max-tokens 128] [--batch-size 16]

Every instruction becomes a think-mode and a no-think-mode conversation from the same plan; each
assistant turn is checked against every active constraint. Printed: kept / LLM calls overall and per
mode, and, side by side in one run, the yield with early stopping (a conversation ends at its first
failing turn) against checking only at the end (`--compare`). The embedded 135M model fails most
constraints; the figure is what it is. Calls are not cached here, so every figure is a real call.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataforge import BackendSpec, generate  # noqa: E402
from dataforge.ifthink import Constraint, IFThinkConfig, answer_of, ifthink_graph, ifthink_seeds  # noqa: E402

INSTRUCTIONS = [
    "Write a short note to a neighbour asking them to water your plants.",
    "Explain why the sky is blue.",
    "Describe a lighthouse at night.",
    "Give advice to someone starting to learn the guitar.",
    "Summarize the water cycle.",
    "Write a product description for a reusable water bottle.",
    "Explain what a budget is to a teenager.",
    "Describe your ideal weekend.",
    "Write a thank-you message to a teacher.",
    "Explain how a bicycle stays upright.",
    "Give three tips for a job interview.",
    "Describe the taste of an orange to someone who has never had one.",
]


def run(config: IFThinkConfig, n: int, batch_size: int) -> dict:
    seeds = ifthink_seeds([{"id": f"i{i}", "text": INSTRUCTIONS[i % len(INSTRUCTIONS)]} for i in range(n)])
    start = time.perf_counter()
    result = generate(ifthink_graph(config), seeds, seed=0, backend=BackendSpec(batch_size=batch_size),
                      use_cache=False)
    seconds = time.perf_counter() - start
    calls = result.stats.totals["llm_calls"]
    kept = Counter(json.loads(r["metadata"])["ifthink"]["mode"] for r in result.records)
    failing = Counter(i for q in result.quarantined for f in _failures(q) for i in f["instruction_ids"])
    reasons = Counter(q["reason"] for q in result.quarantined)
    checks = _check_rates([*result.records, *result.quarantined])
    return {"conversations": len(seeds), "kept": len(result.records), "kept_by_mode": dict(kept),
            "llm_calls": calls, "yield": len(result.records) / calls if calls else 0.0, "seconds": seconds,
            "reasons": dict(reasons), "top_failing": failing.most_common(5), "checks": checks}


def _steps(row: dict) -> list[dict]:
    return json.loads(row["metadata"])["generator"]["steps"]


def _failures(q: dict) -> list[dict]:
    return [f for s in _steps(q) for f in s.get("failures", [])]


def _check_rates(rows: list[dict]) -> tuple[int, int]:
    """(passed, total) over every (assistant turn, active constraint) check the run made."""
    passed = total = 0
    for row in rows:
        turns = [s for s in _steps(row) if s["node"].startswith("turn_")]
        if not turns:
            continue
        last = turns[-1]
        conv = last.get("output") or {**last["input"], "assistant": last.get("assistant", [])}
        plan = [[Constraint(**c) for c in new] for new in conv["constraints"]]
        for k, content in enumerate(conv["assistant"], start=1):
            for c in [c for new in plan[:k] for c in new]:
                total += 1
                passed += c.check(answer_of(content))
    return passed, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instructions", type=int, default=8)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--compare", action="store_true", help="also run with early_stop=False, side by side")
    ap.add_argument("--pool", default="", help="comma-separated instruction ids (default: the multi-turn pool)")
    args = ap.parse_args()
    pool = {"pool": tuple(args.pool.split(","))} if args.pool else {}
    base = IFThinkConfig(turns=args.turns, max_tokens=args.max_tokens, reasoning_max_tokens=args.max_tokens, **pool)
    variants = {"early_stop": base}
    if args.compare:
        variants["check_at_end"] = base.model_copy(update={"early_stop": False})
    results = {name: run(cfg, args.instructions, args.batch_size) for name, cfg in variants.items()}
    for name, r in results.items():
        print(f"[{name}] {r['kept']}/{r['conversations']} conversations kept ({r['kept_by_mode']}), "
              f"{r['llm_calls']} LLM calls, verified yield {r['yield']:.4f} kept/call, {r['seconds']:.0f}s")
        print(f"[{name}] quarantine reasons {r['reasons']}; most failed instruction ids {r['top_failing']}")
        passed, total = r["checks"]
        print(f"[{name}] constraint checks passed: {passed}/{total} ({passed / max(total, 1):.1%}) of the turns generated")
    if args.compare:
        a, b = results["early_stop"], results["check_at_end"]
        ratio = f"{a['yield'] / b['yield']:.2f}" if b["yield"] else "n/a (nothing kept)"
        print(f"yield ratio early_stop / check_at_end: {ratio}; LLM calls {a['llm_calls']} vs {b['llm_calls']} "
              f"(ratio {a['llm_calls'] / max(b['llm_calls'], 1):.2f})")
    print("embedded SmolLM2-135M on CPU; figures need a quiet machine")


if __name__ == "__main__":
    main()
