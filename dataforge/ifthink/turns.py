"""User turns of an IFThink conversation: the seed request with its first constraints, then
follow-up requests that add new constraints on top of the active ones."""

from __future__ import annotations

import random
from collections.abc import Sequence

from dataforge.ifthink.constraints import Constraint

# Follow-ups that make sense after an answer to any request. Written for this library.
FOLLOW_UPS = (
    "Now rewrite your previous answer.",
    "Answer my first request again, taking a different angle this time.",
    "Expand on the most interesting point of your last answer.",
    "Explain the same thing again, more simply.",
    "Rewrite your answer for a busy reader who only has a minute.",
    "Give a concrete example that illustrates your answer.",
    "Turn your last answer into practical advice someone could follow today.",
    "What is the weakest part of your answer? Write an improved version.",
    "Summarize everything you have told me so far.",
    "Rewrite your answer as if you were explaining it to a friend.",
)


def render_constraints(constraints: Sequence[Constraint], rng: random.Random) -> str:
    """Constraint texts, one per line, each in a randomly chosen phrasing (seeded)."""
    return "\n".join(c.describe(rng.randrange(8)) for c in constraints)


def first_turn(request: str, constraints: Sequence[Constraint], rng: random.Random) -> str:
    return f"{request.strip()}\n\n{render_constraints(constraints, rng)}" if constraints else request.strip()


def follow_up_turn(request: str, new: Sequence[Constraint], rng: random.Random,
                   restate: Sequence[Constraint] = ()) -> str:
    """A later user turn: the follow-up request, the constraints it adds and (optionally) a restatement
    of the ones already active. Without the restatement the model must remember them."""
    parts = [request.strip(), "From now on, in addition to my earlier instructions:\n" + render_constraints(new, rng)]
    if restate:
        parts.append("Remember the earlier rules as well:\n" + render_constraints(restate, rng))
    return "\n\n".join(parts)


def pick_follow_up(rng: random.Random, bank: Sequence[str] = FOLLOW_UPS, used: Sequence[str] = ()) -> str:
    """A follow-up from `bank` not used yet in this conversation (when the bank allows)."""
    fresh = [f for f in bank if f not in used] or list(bank)
    return rng.choice(fresh)
