"""Think-budget SFT samples (Hermes 4's second stage): traces over B tokens, cut at B and closed.

    forge generate examples/recipes/think_budget.py --out out/think-budget --walks 16 --seed 0

A reasoning model answers each problem (use a backend that returns traces: a server with a reasoning
parser, or `options={"reasoning": True}` on the transformers/vLLM backends). Traces longer than
`BUDGET` tokens of the target tokenizer are cut at exactly `BUDGET` tokens; the sample keeps the cut
trace in `reasoning_content` (the chat template closes it with `</think>`) and then the answer, so the
model learns to stop thinking at the budget. Traces within budget are dropped (`within_budget`).
"""

from dataforge import Chat, Drop, FunctionNode, Graph, LLMNode, Sampling
from dataforge.recipes import MathProblem, math_problems
from dataforge.recipes.think_budget import ThinkBudget

BUDGET = ThinkBudget(tokens=32, tokenizer="embedded")  # the model to be trained; 30000 in Hermes 4's run


class Thought(MathProblem):
    solution: str
    trace: str


def cut(t: Thought):
    sample = BUDGET.sample(t.question, t.trace, t.solution)
    if sample is None:
        return Drop("within_budget", f"trace has {BUDGET.count(t.trace)} tokens <= {BUDGET.tokens}")
    return Chat(messages=sample, thinking=True)


think = LLMNode("think", MathProblem, Thought, prompt="{{ question }}", reply="solution", reasoning="trace",
                sampling=Sampling(max_tokens=256, temperature=0.6))
graph = Graph("think_budget", MathProblem, [think, FunctionNode("budget", Thought, Chat, cut)])
seeds = math_problems(16, seed=2)
walks = 16
