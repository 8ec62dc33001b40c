"""Strong vs weak preference pairs in think and no-think modes (SmolLM3's APO data), in one graph.

    FORGE_STRONG_BASE_URL=http://10.0.0.5:8000/v1 FORGE_STRONG_MODEL=qwen3-32b \\
        forge generate examples/recipes/strong_weak.py --out out/strong-weak --walks 32 --seed 0

The chosen answer comes from a strong model behind an OpenAI-compatible server (e.g. `vllm serve
--reasoning-parser qwen3`; its `reasoning_content` is kept), the rejected one from the embedded model
(the run's backend). Every problem is asked twice, once per mode (`/think` or `/no_think` system
prompt); in think mode the chosen turn keeps the strong model's trace in `reasoning_content`. Records
are conversational `preference` records. A pair is dropped when the strong answer fails the math
verifier (`chosen_failed`: no real preference), or when both answers are the same (`equal_answers`).
"""

import os

from dataforge import BackendSpec, Drop, FunctionNode, Graph, LLMNode, Preference, Sampling
from dataforge.recipes import MathProblem, math_problems
from dataforge.verify import math_equal, normalize

STRONG = BackendSpec(kind="openai", model=os.environ.get("FORGE_STRONG_MODEL", "strong"),
                     options={"base_url": os.environ.get("FORGE_STRONG_BASE_URL", "http://127.0.0.1:8000/v1"),
                              "max_retries": 2})


class Task(MathProblem):
    thinking: bool


class Strong(Task):
    strong_answer: str
    strong_reasoning: str


class Both(Strong):
    weak_answer: str


class ModePair(Preference):
    id: str
    thinking: bool


def messages(t: Task) -> list[dict[str, str]]:
    mode = "/think" if t.thinking else "/no_think"
    return [{"role": "system", "content": mode},
            {"role": "user", "content": f"{t.question}\nGive the final answer as \\boxed{{number}}."}]


def to_pair(b: Both):
    if not math_equal(b.strong_answer, b.answer).passed:
        return Drop("chosen_failed", f"strong answer does not give {b.answer}")
    if normalize(b.strong_answer, True) == normalize(b.weak_answer, True):
        return Drop("equal_answers", "strong and weak answers are the same")
    chosen = {"role": "assistant", "content": b.strong_answer}
    if b.thinking and b.strong_reasoning:
        chosen["reasoning_content"] = b.strong_reasoning
    return ModePair(id=b.id, thinking=b.thinking, prompt=messages(b), chosen=[chosen],
                    rejected=[{"role": "assistant", "content": b.weak_answer}])


strong = LLMNode("strong", Task, Strong, messages=messages, reply="strong_answer", reasoning="strong_reasoning",
                 backend=STRONG, sampling=Sampling(max_tokens=1024, temperature=0.6))
weak = LLMNode("weak", Strong, Both, messages=messages, reply="weak_answer",
               sampling=Sampling(max_tokens=96, temperature=0.7))
graph = Graph("strong_weak", Task, [strong, weak, FunctionNode("pair", Both, ModePair, to_pair)])
seeds = [Task(**p.model_dump() | {"id": f"{p.id}-{mode}", "thinking": mode == "think"})
         for p in math_problems(16, seed=0) for mode in ("think", "nothink")]
walks = 32
