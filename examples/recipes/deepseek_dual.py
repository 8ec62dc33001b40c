"""DeepSeek-V3's dual-sample SFT recipe: rejection-sampled expert answers, emitted twice per problem.

    forge generate examples/recipes/deepseek_dual.py --out out/dual --walks 32 --seed 0

`expert4` samples up to four answers per problem (stopping at the first that passes) and keeps one
that is verified (math-verify against the known answer), well-formed (no stray think tags) and
concise (at most 120 words). Candidates are drawn per input (`per_input=True`), so the problem's two
walks share one rejection-sampled answer. Walk 0 of a problem emits <problem, original answer>; walk
1 emits <system prompt, problem, reasoning answer> with the expert's trace in `reasoning_content`
(use a reasoning backend, e.g. `BackendSpec(kind="vllm", options={"reasoning": True})` or a server
with a reasoning parser; the embedded model writes no trace, so its trace is empty).
"""

from dataforge import BestOfN, Chat, FunctionNode, Graph, LLMNode, Sampling
from dataforge.recipes import MathProblem, math_problems
from dataforge.verify import FunctionVerifier, math_equal

SYSTEM = "You are a careful math tutor. Reason step by step before answering, then state the final answer."


class Expert(MathProblem):
    solution: str
    reasoning: str


def verified_concise(e: Expert):
    if "<think>" in e.solution or "</think>" in e.solution:
        return False, "malformed_think"
    if len(e.solution.split()) > 120:
        return False, "too_long"
    got = math_equal(e.solution, e.answer)
    return got.passed, got.reason


def emit(values: list[Expert], llm) -> list[Chat]:
    out = []
    for e, walk in zip(values, llm.walks, strict=True):
        if walk is None or walk.index % 2 == 0:  # <problem, original answer>
            msgs = [{"role": "user", "content": e.question}, {"role": "assistant", "content": e.solution}]
        else:  # <system prompt, problem, reasoning answer>
            msgs = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": e.question},
                    {"role": "assistant", "content": e.solution, "reasoning_content": e.reasoning or None}]
        out.append(Chat(messages=msgs, thinking=walk is not None and walk.index % 2 == 1))
    return out


expert = LLMNode("expert", MathProblem, Expert, messages=lambda p: [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": f"{p.question}\nGive the final answer as \\boxed{{number}}."}],
    reply="solution", reasoning="reasoning", sampling=Sampling(max_tokens=160, temperature=0.7))
graph = Graph("deepseek_dual", MathProblem, [
    BestOfN("expert4", expert, n=4, verifier=FunctionVerifier(name="verified_concise", fn=verified_concise),
            policy="first", per_input=True),
    FunctionNode("emit", Expert, Chat, emit, batched=True),
])
seeds = math_problems(16, seed=1)
walks = 32  # two walks per problem: one of each sample
