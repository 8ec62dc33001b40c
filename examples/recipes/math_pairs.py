"""Best-vs-worst preference pairs on math word problems, ranked by the math verifier.

    forge generate examples/recipes/math_pairs.py --out out/math-pairs --walks 40 --seed 0

`solve4` draws four answers per problem (distinct seeds, one batch per round, cached); math-verify
checks each `\\boxed{}` answer against the known one; the best and the worst become one `preference`
record (prompt, chosen, rejected). A problem whose four answers all pass or all fail has no real
preference and is dropped (`no_preference`), as is a pair whose two answers are the same
(`equal_answers`); every candidate, score and reason is in the record's lineage.
"""

from dataforge import BestOfN, Graph, LLMNode, Preference, Sampling
from dataforge.recipes import MathProblem, math_problems
from dataforge.verify import MathVerifier


class Solved(MathProblem):
    solution: str


class MathPair(Preference):
    id: str
    answer: str


solve = LLMNode(
    "solve", MathProblem, Solved,
    prompt="Solve the problem step by step, then give the final answer as \\boxed{number}.\n\n{{ question }}",
    sampling=Sampling(max_tokens=96, temperature=0.8),
)
graph = Graph("math_pairs", MathProblem, [
    BestOfN("solve4", solve, n=4, verifier=MathVerifier(answer="solution", reference="answer"),
            policy="best_worst", output=MathPair),
])
seeds = math_problems(40, seed=0)
walks = 40
