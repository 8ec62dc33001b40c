"""IFThink augmentation settings, conversation state and the prompts of assistant turns."""

from __future__ import annotations

import random
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.spec import SpecModel
from dataforge.ifthink.base import REGISTRY
from dataforge.ifthink.constraints import Constraint
from dataforge.ifthink.sampling import MULTI_TURN_POOL, plan_turns
from dataforge.ifthink.think import answer_of
from dataforge.ifthink.turns import FOLLOW_UPS, first_turn, follow_up_turn, pick_follow_up

ANSWER_SYSTEM = ("You are a helpful assistant. Follow every instruction the user gives, including the "
                 "formatting and length rules from earlier messages, which stay in force.")
REASON_SYSTEM = ("You are a careful assistant. Do not answer yet. Think step by step about the user's "
                 "latest message: what is asked, and every rule from this conversation the answer must "
                 "follow. Write only this reasoning.")
NOTES = "\n\nYour private reasoning about the latest message (use it, do not show it):\n"
INLINE_SYSTEM = (ANSWER_SYSTEM + " First think step by step inside <think> and </think>; then write the "
                 "answer after </think>.")
WORDS_PER_TOKEN = 0.7  # English prose; used to keep length constraints within the answer budget


class IFThinkConfig(SpecModel):
    """How single-turn instructions grow into verified multi-turn conversations.

    Args:
        turns: user turns per conversation (at least 3).
        per_turn: how many new constraints each user turn adds (min, max).
        pool: instruction ids constraints are drawn from.
        max_tokens: the answer budget of an assistant turn; length constraints stay within it.
        reasoning_max_tokens: the budget of a think-mode reasoning trace.
        think_style: `two_step` (a reasoning call, then an answer call that sees the reasoning; works
            with any chat model) or `inline` (one call; the model writes `<think>...</think>` itself,
            for reasoning models).
        restate: later user turns restate the constraints still in force (off: the model must remember).
        early_stop: stop a conversation at its first failing turn (saves the remaining calls).
        follow_ups: requests of later user turns (each turn adds its constraints to one of them).
        seed: the plan seed; a conversation's constraints and user turns depend only on it and the
            instruction id, so the think and no-think versions of a conversation share them.
    Example:
        IFThinkConfig(turns=3, max_tokens=256, pool=["punctuation:no_comma", "detectable_format:title"])
    """

    turns: int = Field(3, ge=3, le=12)
    per_turn: tuple[int, int] = (1, 2)
    pool: tuple[str, ...] = MULTI_TURN_POOL
    max_tokens: int = Field(256, ge=8)
    reasoning_max_tokens: int = Field(256, ge=8)
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    think_style: Literal["two_step", "inline"] = "two_step"
    restate: bool = False
    early_stop: bool = True
    follow_ups: tuple[str, ...] = FOLLOW_UPS
    seed: int = 0

    @field_validator("pool")
    @classmethod
    def _pool(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(REGISTRY))
        if unknown:
            raise ValueError(f"unknown instruction ids {unknown}")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _counts(self) -> IFThinkConfig:
        lo, hi = self.per_turn
        if not 1 <= lo <= hi:
            raise ValueError(f"per_turn must be (min, max) with 1 <= min <= max, got {self.per_turn}")
        if not self.follow_ups:
            raise ValueError("follow_ups must name at least one follow-up request")
        return self

    @property
    def max_words(self) -> int:
        return max(8, int(self.max_tokens * WORDS_PER_TOKEN))


class ConversationPlan(SpecModel):
    """The user side of one conversation: per turn, its message and the constraints it adds."""

    user_turns: list[str]
    constraints: list[list[Constraint]]

    def active(self, turn: int) -> list[Constraint]:
        """Constraints in force at user turn `turn` (1-based)."""
        return [c for new in self.constraints[:turn] for c in new]

    def to_json(self) -> list[dict[str, Any]]:
        return [{"turn": i + 1, "new": [c.model_dump() for c in new], "active": [c.id for c in self.active(i + 1)]}
                for i, new in enumerate(self.constraints)]


def plan_conversation(instruction_id: str, request: str, config: IFThinkConfig) -> ConversationPlan:
    """The constraints and user messages of a conversation, a function of (config, instruction id)."""
    if not request.strip():
        raise ForgeError(f"instruction {instruction_id}: empty request text")
    rng = random.Random(int(stable_hash([config.seed, instruction_id, "ifthink-plan"], 16), 16))
    constraints = plan_turns(rng, config.turns, per_turn=config.per_turn, pool=list(config.pool),
                             prompt=request, max_words=config.max_words)
    turns = [first_turn(request, constraints[0], rng)]
    used: list[str] = []
    for k in range(1, config.turns):
        follow = pick_follow_up(rng, config.follow_ups, used)
        used.append(follow)
        earlier = [c for new in constraints[:k] for c in new] if config.restate else []
        turns.append(follow_up_turn(follow, constraints[k], rng, restate=earlier))
    return ConversationPlan(user_turns=turns, constraints=constraints)


def history(user_turns: list[str], assistant: list[str], turn: int) -> list[dict[str, str]]:
    """Messages up to user turn `turn` (1-based); earlier assistant turns without their think blocks,
    as chat templates of reasoning models show them."""
    out: list[dict[str, str]] = []
    for k in range(turn):
        out.append({"role": "user", "content": user_turns[k]})
        if k < turn - 1:
            out.append({"role": "assistant", "content": answer_of(assistant[k])})
    return out


def answer_prompt(chat: list[dict[str, str]], reasoning: str | None = None) -> list[dict[str, str]]:
    system = ANSWER_SYSTEM + (NOTES + reasoning.strip() if reasoning else "")
    return [{"role": "system", "content": system}, *chat]


def reasoning_prompt(chat: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "system", "content": REASON_SYSTEM}, *chat]


def inline_prompt(chat: list[dict[str, str]]) -> list[dict[str, str]]:
    return [{"role": "system", "content": INLINE_SYSTEM}, *chat]
