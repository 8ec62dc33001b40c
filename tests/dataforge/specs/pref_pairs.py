"""Preference pairs for the end-to-end test: best vs worst of three answers by length (a verifier whose
scores differ whenever the answers' lengths do), written as preference records."""

from dataforge import BestOfN, Graph, LLMNode, Preference, Sampling
from dataforge.recipes import MathProblem, math_problems
from dataforge.verify import FunctionVerifier


class Solved(MathProblem):
    solution: str


class Pair(Preference):
    id: str


solve = LLMNode("solve", MathProblem, Solved, prompt="{{ question }}", sampling=Sampling(max_tokens=16, temperature=1.0))
longer = FunctionVerifier(name="longer", fn=lambda s: (min(1.0, len(s.solution) / 80), f"{len(s.solution)} chars"),
                          threshold=0.0)
graph = Graph("pref_pairs", MathProblem, [BestOfN("pair3", solve, n=3, verifier=longer, policy="best_worst",
                                                  output=Pair)])
seeds = math_problems(4, seed=5)
walks = 4
