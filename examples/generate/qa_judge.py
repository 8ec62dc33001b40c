"""Passage -> question -> answer -> LLM-judge grade: grounded QA pairs as chat records.

    forge generate examples/generate/qa_judge.py --out out/qa --walks 36 --seed 0

Four nodes: `ask` writes a question about the passage, `answer` answers it from the passage, `grade`
(an LLM judge) scores the pair and drops pairs below 3 of 5, and `to_chat` (plain Python) turns the
graded pair into a user/assistant conversation. Token budgets are small so the whole run takes about
a minute on two CPU cores with the embedded SmolLM2-135M.
"""

from dataforge import Chat, Document, FunctionNode, Graph, JudgeNode, LLMNode, Sampling, Struct, nonempty


class Question(Struct):
    id: str
    title: str
    text: str
    question: str


class Answer(Question):
    answer: str


class Graded(Answer):
    score: int
    rationale: str


class QAChat(Chat):
    score: int


ask = LLMNode(
    "ask", Document, Question,
    system="You write one short quiz question about a passage. Reply with the question only.",
    prompt="Passage ({{ title }}): {{ text }}\n\nWrite one question this passage answers.",
    sampling=Sampling(max_tokens=32, temperature=0.8),
    guarantees=[nonempty("question")],
)
answer = LLMNode(
    "answer", Question, Answer,
    system="Answer in one or two sentences, using only the passage.",
    prompt="Passage: {{ text }}\n\nQuestion: {{ question }}",
    sampling=Sampling(max_tokens=40, temperature=0.3),
    requires=[nonempty("question")],
    guarantees=[nonempty("answer")],
)
grade = JudgeNode(
    "grade", Answer, Graded,
    rubric="The question is about the passage and the answer is correct according to the passage.",
    fields=["text", "question", "answer"], threshold=3, scale=(1, 5),
    sampling=Sampling(max_tokens=24, temperature=0.2),
)


def as_chat(g: Graded) -> QAChat:
    return QAChat(messages=[{"role": "user", "content": g.question}, {"role": "assistant", "content": g.answer}],
                  score=g.score)


to_chat = FunctionNode("to_chat", Graded, QAChat, as_chat)

graph = Graph("qa_judge", Document, [ask, answer, grade, to_chat], max_depth=4)

seeds = [
    Document(id="photosynthesis", title="Photosynthesis",
             text="Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide "
                  "to make glucose and release oxygen. It takes place mainly in the chloroplasts of leaf cells."),
    Document(id="nile", title="The Nile",
             text="The Nile flows north through eleven countries in north-eastern Africa and empties into the "
                  "Mediterranean Sea. Its annual floods made farming possible in ancient Egypt."),
    Document(id="printing-press", title="The printing press",
             text="Around 1440 Johannes Gutenberg built a printing press with movable metal type in Mainz. "
                  "Printed books became cheaper, and literacy spread across Europe."),
    Document(id="volcano", title="Volcanoes",
             text="A volcano is an opening in the Earth's crust through which molten rock, ash and gases "
                  "escape. Mount Etna in Sicily is one of the most active volcanoes in the world."),
    Document(id="honeybee", title="Honeybees",
             text="Honeybees live in colonies led by a single queen. Worker bees collect nectar and pollen, "
                  "and they tell each other where flowers are with a waggle dance."),
    Document(id="pythagoras", title="Pythagorean theorem",
             text="In a right triangle, the square of the hypotenuse equals the sum of the squares of the "
                  "other two sides. For sides 3 and 4 the hypotenuse is 5."),
]

walks = 36
