"""A small set of grade-school math word problems with known answers, generated in code (no downloads).

Each problem comes from one of a few templates filled with numbers drawn from a seeded generator, and
its answer is computed from the same numbers, so the set is exact, reproducible and as large as asked.

    from dataforge.recipes import math_problems
    problems = math_problems(8, seed=0)   # [MathProblem(id="math-0-0", question="...", answer="23"), ...]
"""

from __future__ import annotations

import random
from collections.abc import Callable
from fractions import Fraction

from dataforge.structs import Struct

NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kemi", "Luca")
ITEMS = ("apples", "pencils", "marbles", "stickers", "books", "cookies", "shells", "cards")


class MathProblem(Struct):
    """A word problem and its answer (an integer or a fraction, written as math-verify reads it)."""

    id: str
    question: str
    answer: str

    text_field = "question"


def _plus_minus(r: random.Random) -> tuple[str, Fraction]:
    who, item = r.choice(NAMES), r.choice(ITEMS)
    a, b, c = r.randint(12, 60), r.randint(3, 30), r.randint(2, 11)
    return (f"{who} has {a} {item}. A friend gives {who} {b} more, then {who} gives away {c}. "
            f"How many {item} does {who} have now?", Fraction(a + b - c))


def _groups(r: random.Random) -> tuple[str, Fraction]:
    item = r.choice(ITEMS)
    boxes, each = r.randint(3, 12), r.randint(4, 15)
    return (f"There are {boxes} boxes with {each} {item} in each box. How many {item} are there in all?",
            Fraction(boxes * each))


def _share(r: random.Random) -> tuple[str, Fraction]:
    item, kids, each = r.choice(ITEMS), r.randint(2, 9), r.randint(3, 12)
    return (f"{kids * each} {item} are shared equally among {kids} children. How many {item} does each "
            f"child get?", Fraction(each))


def _price(r: random.Random) -> tuple[str, Fraction]:
    who, n, price = r.choice(NAMES), r.randint(2, 8), r.randint(2, 9)
    paid = (n * price // 10 + 1) * 10
    return (f"{who} buys {n} notebooks at {price} dollars each and pays with {paid} dollars. How much change, "
            f"in dollars, does {who} get?", Fraction(paid - n * price))


def _fraction_of(r: random.Random) -> tuple[str, Fraction]:
    den = r.choice((2, 3, 4, 5))
    num = r.randint(1, den - 1)
    total = den * r.randint(3, 12)
    return (f"A class has {total} students and {num}/{den} of them walk to school. How many students walk "
            f"to school?", Fraction(total * num, den))


def _speed(r: random.Random) -> tuple[str, Fraction]:
    speed, hours = r.randint(30, 90), r.randint(2, 6)
    return (f"A train travels at {speed} kilometers per hour for {hours} hours. How many kilometers does it "
            f"travel?", Fraction(speed * hours))


def _rectangle(r: random.Random) -> tuple[str, Fraction]:
    w, h = r.randint(3, 20), r.randint(3, 20)
    return f"A rectangle is {w} meters long and {h} meters wide. What is its perimeter in meters?", Fraction(2 * (w + h))


def _half_pizza(r: random.Random) -> tuple[str, Fraction]:
    slices = r.choice((6, 8, 10, 12))
    eaten = r.randint(2, slices - 1)
    return (f"A pizza is cut into {slices} equal slices and {eaten} slices are eaten. What fraction of the pizza "
            f"is left? Give the answer as a fraction in lowest terms.", Fraction(slices - eaten, slices))


TEMPLATES: tuple[Callable[[random.Random], tuple[str, Fraction]], ...] = (
    _plus_minus, _groups, _share, _price, _fraction_of, _speed, _rectangle, _half_pizza,
)


def _show(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{x.numerator}/{x.denominator}"


def math_problems(n: int = 40, seed: int = 0) -> list[MathProblem]:
    """`n` problems, cycling through the templates; the same (n, seed) gives the same problems."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = []
    for i in range(n):
        r = random.Random(f"{seed}:{i}")  # one generator per problem: problem i never depends on n
        question, answer = TEMPLATES[i % len(TEMPLATES)](r)
        out.append(MathProblem(id=f"math-{seed}-{i}", question=question, answer=_show(answer)))
    return out
