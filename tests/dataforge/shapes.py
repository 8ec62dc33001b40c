"""Small structs and node builders shared by the generator tests (no LLM is called to build them)."""

from __future__ import annotations

from dataforge import Document, FunctionNode, LLMNode, Sampling, Struct

TINY = Sampling(max_tokens=8, temperature=0.7)


class Question(Struct):
    id: str
    text: str
    question: str


class Answer(Question):
    answer: str


class Graded(Answer):
    score: int
    rationale: str


class Summary(Struct):
    id: str
    text: str
    summary: str


def ask(name: str = "ask", **kw) -> LLMNode:
    return LLMNode(name, Document, Question, prompt="Ask a question about: {{ text }}", sampling=TINY, **kw)


def answer(name: str = "answer", **kw) -> LLMNode:
    return LLMNode(name, Question, Answer, prompt="{{ text }}\nQ: {{ question }}", sampling=TINY, **kw)


def py(name: str, input, output, fn) -> FunctionNode:
    return FunctionNode(name, input, output, fn)


PASSAGES = [
    Document(id=f"doc-{i}", text=t) for i, t in enumerate([
        "The Moon orbits the Earth about once every 27 days.",
        "Water boils at 100 degrees Celsius at sea level.",
        "Bees make honey from the nectar of flowers.",
        "Mount Everest is the highest mountain above sea level.",
    ])
]
