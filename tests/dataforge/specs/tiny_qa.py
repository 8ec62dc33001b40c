"""A two-LLM-node spec with tiny token budgets, for the job, cache and cluster tests."""

from dataforge import Document, Graph, LLMNode, Sampling, Struct, nonempty


class Question(Struct):
    id: str
    text: str
    question: str


class Answer(Question):
    answer: str


ask = LLMNode("ask", Document, Question, prompt="Ask one question about: {{ text }}",
              sampling=Sampling(max_tokens=8, temperature=0.8), guarantees=[nonempty("question")])
answer = LLMNode("answer", Question, Answer, prompt="{{ text }}\nQuestion: {{ question }}\nAnswer briefly.",
                 sampling=Sampling(max_tokens=8, temperature=0.3))
graph = Graph("tiny_qa", Document, [ask, answer])

seeds = [
    Document(id="moon", text="The Moon orbits the Earth about once every 27 days."),
    Document(id="water", text="Water boils at 100 degrees Celsius at sea level."),
    Document(id="bees", text="Bees make honey from the nectar of flowers."),
]
walks = 6
