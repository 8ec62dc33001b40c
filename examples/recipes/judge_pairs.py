"""Judge-graded preference pairs: an LLM judge scores three answers per instruction; best vs worst.

    forge generate examples/recipes/judge_pairs.py --out out/judge-pairs --walks 12 --seed 0

The judge (a `JudgeNode` used as the verifier) sees each candidate; its calls are batched with the
round and cached like the answers'. The highest and lowest scored answers become a `preference`
record; a pair scored the same, or with identical answers, is dropped with its reason.
"""

from dataforge import BestOfN, Graph, JudgeNode, LLMNode, Preference, Sampling, Struct
from dataforge.verify import JudgeVerifier


class Task(Struct):
    id: str
    instruction: str


class Answered(Task):
    answer: str


class Graded(Answered):
    score: int
    rationale: str


class TaskPair(Preference):
    id: str
    instruction: str


answer = LLMNode("answer", Task, Answered, prompt="{{ instruction }}", sampling=Sampling(max_tokens=64, temperature=0.9))
grade = JudgeNode("grade", Answered, Graded, rubric="The answer follows the instruction, is correct and is clear.",
                  fields=["instruction", "answer"], threshold=3, scale=(1, 5),
                  sampling=Sampling(max_tokens=32, temperature=0.0))
graph = Graph("judge_pairs", Task, [
    BestOfN("answer3", answer, n=3, verifier=JudgeVerifier(judge=grade), policy="best_worst", output=TaskPair),
])
seeds = [
    Task(id="haiku", instruction="Write a haiku about autumn rain."),
    Task(id="boil", instruction="Explain in two sentences why water boils at a lower temperature on a mountain."),
    Task(id="email", instruction="Write a one-line email subject announcing a team lunch on Friday."),
    Task(id="list", instruction="List three uses of a paperclip, one per line."),
    Task(id="define", instruction="Define 'photosynthesis' in one sentence for a ten-year-old."),
    Task(id="rhyme", instruction="Give two words that rhyme with 'light'."),
]
walks = 12
