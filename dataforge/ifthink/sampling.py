"""Random, seeded sampling of non-conflicting constraints, for one turn or a whole conversation."""

from __future__ import annotations

import random
from collections.abc import Sequence

from dataforge.core.errors import ForgeError
from dataforge.ifthink.base import REGISTRY, SampleContext
from dataforge.ifthink.conflicts import CONFLICTS, feasible
from dataforge.ifthink.constraints import Constraint

# In a multi-turn conversation constraints stay active for every later turn. Two IFEval types do not
# fit that: constrained_response conflicts with every other type (the conversation could not grow),
# and repeat_prompt names one turn's request, which later turns would have to repeat verbatim.
MULTI_TURN_POOL = tuple(sorted(set(REGISTRY) - {"detectable_format:constrained_response",
                                                 "combination:repeat_prompt"}))


def _rng(seed: int | random.Random) -> random.Random:
    return seed if isinstance(seed, random.Random) else random.Random(seed)


def _check_pool(pool: Sequence[str]) -> list[str]:
    unknown = sorted(set(pool) - set(REGISTRY))
    if unknown:
        raise ForgeError(f"constraint pool: unknown instruction ids {unknown}; see dataforge.ifthink.INSTRUCTION_IDS")
    return sorted(set(pool))


def sample_constraints(seed: int | random.Random, n: int, *, active: Sequence[Constraint] = (),
                       pool: Sequence[str] | None = None, prompt: str = "", max_words: int | None = None,
                       attempts: int = 64) -> list[Constraint]:
    """`n` new constraints that conflict neither with each other nor with `active`.

    Args:
        seed: an int or a `random.Random` (advanced in place, so successive calls differ).
        active: constraints already in force (their ids are excluded, their words are not reused).
        pool: instruction ids to draw from (default: all 25).
        prompt: the user request (the argument of `combination:repeat_prompt`, which is only drawn
            when a prompt is given).
        max_words: the longest answer the generator can write; length arguments stay below it.
    Example:
        sample_constraints(0, 2, max_words=120)
    """
    rng = _rng(seed)
    ids = _check_pool(pool if pool is not None else REGISTRY)
    if not prompt.strip():
        ids = [i for i in ids if i != "combination:repeat_prompt"]  # it needs the request to repeat
    taken = {w for c in active for w in _words_of(c)}
    for _ in range(attempts):
        blocked = set().union(*(CONFLICTS[c.id] for c in active))
        chosen: list[Constraint] = []
        ctx = SampleContext(rng=rng, prompt=prompt, max_words=max_words, taken_words=set(taken))
        for _ in range(n):
            free = [i for i in ids if i not in blocked]
            if not free:
                break
            pick = rng.choice(free)
            chosen.append(Constraint(id=pick, kwargs=REGISTRY[pick].sample(ctx)))
            blocked |= CONFLICTS[pick]
        if len(chosen) == n and feasible([*active, *chosen], max_words):
            return chosen
    raise ForgeError(f"could not sample {n} constraint(s) compatible with {[c.id for c in active]} from "
                     f"{len(ids)} instruction ids in {attempts} attempts; widen the pool or lower the count")


def plan_turns(seed: int | random.Random, turns: int, *, per_turn: tuple[int, int] = (1, 2),
               pool: Sequence[str] | None = None, prompt: str = "", max_words: int | None = None,
               attempts: int = 64) -> list[list[Constraint]]:
    """New constraints for each of `turns` user turns; every turn adds at least `per_turn[0]`, and all
    constraints of all turns are compatible (a constraint stays active once introduced).

    Example:
        plan_turns(7, 3)  # e.g. [[title], [no_comma, number_words], [postscript]]
    """
    if turns < 1 or not 1 <= per_turn[0] <= per_turn[1]:
        raise ForgeError(f"plan_turns: need turns >= 1 and 1 <= per_turn[0] <= per_turn[1], got {turns}, {per_turn}")
    rng = _rng(seed)
    ids = list(pool) if pool is not None else list(MULTI_TURN_POOL)
    for _ in range(attempts):
        plan: list[list[Constraint]] = []
        active: list[Constraint] = []
        try:
            for _turn in range(turns):
                new = sample_constraints(rng, rng.randint(*per_turn), active=active, pool=ids, prompt=prompt,
                                         max_words=max_words, attempts=4)
                plan.append(new)
                active.extend(new)
        except ForgeError:
            continue  # an early pick left too little room; start the plan over
        return plan
    raise ForgeError(f"could not plan {turns} turns of {per_turn} constraints from {len(ids)} instruction "
                     f"ids in {attempts} attempts; widen the pool or lower the counts")


def _words_of(c: Constraint) -> list[str]:
    kw = c.kwargs
    return [*kw.get("keywords", []), *kw.get("forbidden_words", []), kw.get("keyword", ""), kw.get("first_word", "")]
