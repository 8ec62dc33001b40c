"""Throughput of `dataforge.ifthink.check`: checks per second, per instruction type and overall.

    python bench/ifthink_check.py [--responses 400] [--seconds 1.0]

Responses are made here (prose, markdown, JSON, CJK; 5 to ~600 words) and every one is checked
against a sampled constraint of each of the 25 instruction types. Printed side by side in one run:
`check()` (validates its kwargs every call) against `Constraint.check` (validated once), so the
ratio is the cost of validation. Figures need a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataforge.ifthink import (  # noqa: E402
    INSTRUCTION_IDS,
    REGISTRY,
    Constraint,
    check,
    text,  # noqa: E402
)
from dataforge.ifthink.base import SampleContext  # noqa: E402

WORDS = ("river lantern tower the a of and to in is was for on with as by at from bridge summit "
         "orbit valley engine theory signal winter harbor").split()


def make_response(rng: random.Random) -> str:
    kind = rng.choice(["prose", "markdown", "json", "cjk", "caps"])
    n = rng.choice([5, 40, 150, 600])
    words = [rng.choice(WORDS) for _ in range(n)]
    if kind == "json":
        return json.dumps({"answer": " ".join(words), "items": [{"k": w} for w in words[:20]]})
    if kind == "cjk":
        return "東京は大きい。" * (n // 5 + 1)
    sentences = [" ".join(words[i:i + 12]).capitalize() + rng.choice([".", "!", "?"]) for i in range(0, n, 12)]
    if kind == "markdown":
        body = "\n".join(f"* {s}" if i % 3 == 0 else s for i, s in enumerate(sentences))
        return f"<<Title>>\n\n## Section 1\n{body}\n\n***\n\n*note* P.S. done"
    text = " ".join(sentences)
    return text.upper() if kind == "caps" else text


def timed(fn, cases, seconds: float) -> float:
    """Checks per second over repeated passes for at least `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        text._sentences.cache_clear()  # every pass splits its responses afresh, as new answers would be
        for c in cases:
            fn(c)
        done += len(cases)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--responses", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=1.0, help="minimum timing per instruction type")
    args = ap.parse_args()
    rng = random.Random(0)
    responses = [make_response(rng) for _ in range(args.responses)]
    check("language:response_language", {"language": "en"}, "warm up the language model")
    print(f"{'instruction type':45} {'check()/s':>12} {'Constraint/s':>13} {'ratio':>6}")
    totals = {"check": [], "constraint": []}
    for iid in INSTRUCTION_IDS:
        cases = [(Constraint(id=iid, kwargs=REGISTRY[iid].sample(
            SampleContext(rng=rng, prompt="Write about rivers.", max_words=300))), r) for r in responses]
        raw = timed(lambda c: check(c[0].id, c[0].kwargs, c[1]), cases, args.seconds)
        pre = timed(lambda c: c[0].check(c[1]), cases, args.seconds)
        totals["check"].append(len(cases) / raw)
        totals["constraint"].append(len(cases) / pre)
        print(f"{iid:45} {raw:12,.0f} {pre:13,.0f} {raw / pre:6.2f}")
    n = len(INSTRUCTION_IDS) * len(responses)
    overall_raw, overall_pre = n / sum(totals["check"]), n / sum(totals["constraint"])
    print(f"{'all 25 types, mixed':45} {overall_raw:12,.0f} {overall_pre:13,.0f} {overall_raw / overall_pre:6.2f}")
    print(f"check() throughput: {overall_raw:,.0f} checks/s over {n} (type, response) pairs "
          "(single process; measure on a quiet machine)")


if __name__ == "__main__":
    main()
