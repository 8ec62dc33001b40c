"""Best-of-n on the shipped math word problems: verified yield per LLM call, and verifier throughput.

    python bench/best_of_n.py [--problems 16] [--max-tokens 96] [--ns 1,2,4,8]

Yield: for each n, a `BestOfN` node (policy `best`, `MathVerifier`) draws n candidates per problem from
the embedded model (SmolLM2-135M on the `transformers` backend, no cache) and keeps a problem when
a candidate's `\\boxed{}` (or last) answer equals the known one. Printed side by side: kept problems,
LLM calls, kept per call, and pass@n. Verifier throughput: checks per second of `math_equal` on
equal and unequal pairs, and of an IFEval constraint set (`IFEvalVerifier`, 3 constraints) in
reference and strict mode. The 135M model rarely solves these; the figures say so honestly.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dataforge import BestOfN, Graph, LLMNode, Sampling, generate  # noqa: E402
from dataforge.ifthink import Constraint  # noqa: E402
from dataforge.recipes import MathProblem, math_problems  # noqa: E402
from dataforge.verify import IFEvalVerifier, MathVerifier, math_equal  # noqa: E402

PROMPT = ("Solve the problem. Think step by step, then give the final answer as \\boxed{number}.\n\n"
          "Problem: {{ question }}")


class Solved(MathProblem):
    solution: str


def yield_rows(problems: list[MathProblem], ns: list[int], max_tokens: int) -> list[tuple]:
    from dataforge.backends.transformers import TransformersBackend

    llm = TransformersBackend("embedded", batch_size=32)
    solve = LLMNode("solve", MathProblem, Solved, prompt=PROMPT,
                    sampling=Sampling(max_tokens=max_tokens, temperature=0.8))
    verifier = MathVerifier(answer="solution", reference="answer")
    rows = []
    for n in ns:
        g = Graph(f"bon{n}", MathProblem, [BestOfN(f"solve{n}", solve, n=n, verifier=verifier, policy="best")])
        t0 = time.perf_counter()
        r = generate(g, problems, backend=llm, use_cache=False)
        secs = time.perf_counter() - t0
        kept, calls = r.stats.totals["records"], r.stats.totals["llm_calls"]
        rows.append((n, len(problems), kept, calls, kept / calls if calls else 0.0, kept / len(problems), secs))
    llm.close()
    return rows


def rate(fn, items: list, seconds: float) -> float:
    fn(*items[0])  # warm up: the first call imports sympy and math-verify's LaTeX grammar
    done, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for it in items:
            fn(*it)
        done += len(items)
    return done / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--ns", default="1,2,4,8")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--skip-yield", action="store_true")
    args = ap.parse_args()
    problems = math_problems(args.problems, seed=0)

    equal = [(f"The answer is \\boxed{{{p.answer}}}.", p.answer) for p in problems]
    unequal = [(f"The answer is \\boxed{{{p.answer}0}}.", p.answer) for p in problems]
    constraints = IFEvalVerifier(constraints=[
        Constraint(id="punctuation:no_comma"), Constraint(id="detectable_format:title"),
        Constraint(id="length_constraints:number_words", kwargs={"relation": "less than", "num_words": 80})])
    strict = constraints.model_copy(update={"strict": True})
    answers = [(f"<<Answer>> {p.question} The result is {p.answer}.",) for p in problems]
    print("verifier throughput (checks/s):")
    print(f"  math_equal equal pairs      {rate(math_equal, equal, args.seconds):10.0f}")
    print(f"  math_equal unequal pairs    {rate(math_equal, unequal, args.seconds):10.0f}")
    ref_rate = rate(constraints.check, answers, args.seconds)
    strict_rate = rate(strict.check, answers, args.seconds)
    print(f"  IFEval set (3), reference   {ref_rate:10.0f}")
    print(f"  IFEval set (3), strict      {strict_rate:10.0f}   (strict/reference {strict_rate / ref_rate:.2f}x)")
    if args.skip_yield:
        return
    ns = [int(x) for x in args.ns.split(",")]
    rows = yield_rows(problems, ns, args.max_tokens)
    print(f"\nverified yield, embedded SmolLM2-135M, {len(problems)} problems, max_tokens={args.max_tokens}:")
    print("   n  problems  kept  llm_calls  kept/call  pass@n   seconds  yield vs n=1")
    base = rows[0][4] or None
    for n, total, kept, calls, per_call, pass_n, secs in rows:
        ratio = f"{per_call / base:.2f}x" if base else "n/a (n=1 kept none)"
        print(f"  {n:2d}  {total:8d}  {kept:4d}  {calls:9d}  {per_call:9.3f}  {pass_n:6.2f}  {secs:8.1f}  {ratio}")


if __name__ == "__main__":
    main()
