"""IFThink as DataForge nodes: plan the user side, generate each assistant turn, verify the whole."""

from __future__ import annotations

from typing import Any

from dataforge.backends.base import Sampling
from dataforge.conditions import Predicate
from dataforge.ifthink.augment import (
    ConversationPlan,
    IFThinkConfig,
    answer_prompt,
    history,
    inline_prompt,
    plan_conversation,
    reasoning_prompt,
)
from dataforge.ifthink.constraints import Constraint
from dataforge.ifthink.think import answer_of, mode_problem, split_think, with_think
from dataforge.ifthink.verify import verify_conversation
from dataforge.nodes.base import Context, Item, Node, Outcome, Quarantined, WalkStep
from dataforge.nodes.func import NodeLLM
from dataforge.structs import Message, Struct


class IFThinkSeed(Struct):
    """A single-turn instruction in one mode; `ifthink_seeds` makes the think/no-think pair."""

    id: str
    text: str
    instruction_id: str
    thinking: bool


class Conversation(Struct):
    """A conversation being grown: the planned user turns and the assistant turns so far."""

    id: str
    instruction_id: str
    thinking: bool
    text: str
    user_turns: list[str]
    constraints: list[list[Constraint]]
    assistant: list[str] = []

    def plan(self) -> ConversationPlan:
        return ConversationPlan(user_turns=self.user_turns, constraints=self.constraints)


class IFThinkChat(Struct):
    """A verified conversation: the output chat record (messages, enable_thinking, constraints per turn)."""

    record_kind = "chat"

    messages: list[Message]
    instruction_id: str
    thinking: bool
    constraints: list[dict[str, Any]]

    @property
    def enable_thinking(self) -> bool:
        return self.thinking

    def record_metadata(self) -> dict[str, Any]:
        return {"ifthink": {"instruction_id": self.instruction_id, "pair_id": self.instruction_id,
                            "mode": "think" if self.thinking else "no_think", "turns": len(self.constraints),
                            "constraints": self.constraints}}


def ifthink_seeds(instructions: list[dict[str, str]] | list[Any], modes: tuple[bool, ...] = (True, False)
                  ) -> list[IFThinkSeed]:
    """Each instruction (`{"id", "text"}` or any object with `id` and `text`) once per mode, so every
    conversation is generated in think and in no-think mode from the same plan."""
    out = []
    for row in instructions:
        iid, text = (row["id"], row["text"]) if isinstance(row, dict) else (row.id, row.text)
        for thinking in modes:
            out.append(IFThinkSeed(id=f"{iid}:{'think' if thinking else 'no_think'}", text=text,
                                   instruction_id=str(iid), thinking=thinking))
    return out


def turns_done(k: int) -> Predicate:
    """The contract between turn nodes: exactly `k` assistant turns so far."""
    return Predicate(f"assistant_turns({k})", "assistant", lambda v: len(v) == k)


class PlanNode(Node):
    """Plans the user side: the constraints each turn adds and the user messages (no LLM call)."""

    kind = "ifthink_plan"

    def __init__(self, config: IFThinkConfig, name: str = "plan"):
        super().__init__(name, IFThinkSeed, Conversation, guarantees=[turns_done(0)])
        self.config = config

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        out: list[Outcome] = []
        for it in items:
            s = it.value
            if not s.text.strip():
                out.append(Quarantined("empty_instruction", f"instruction {s.instruction_id!r} has no text"))
                continue
            plan = plan_conversation(s.instruction_id, s.text, self.config)
            value = Conversation(id=s.id, instruction_id=s.instruction_id, thinking=s.thinking, text=s.text,
                                 user_turns=plan.user_turns, constraints=plan.constraints)
            out.append(WalkStep(value, {"plan": plan.to_json()}))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "config": self.config.model_dump(mode="json")}


class AssistantTurn(Node):
    """Generates assistant turn `turn` of every conversation in one batched round (two rounds for
    think mode in `two_step` style: the reasoning, then the answer that sees it).

    With `early_stop`, a turn whose answer fails an active constraint ends its walk at once
    (quarantined with the failing ids and the turn number), saving the later turns' calls.
    """

    kind = "ifthink_turn"
    calls_llm = True

    def __init__(self, turn: int, config: IFThinkConfig):
        super().__init__(f"turn_{turn}", Conversation, Conversation, requires=[turns_done(turn - 1)],
                         guarantees=[turns_done(turn)])
        self.turn, self.config = turn, config
        self.answer_sampling = Sampling(max_tokens=config.max_tokens, temperature=config.temperature, top_p=config.top_p)
        self.reason_sampling = self.answer_sampling.model_copy(update={"max_tokens": config.reasoning_max_tokens})

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        llm = NodeLLM(ctx, self.name, [it.key for it in items])
        chats = [history(it.value.user_turns, it.value.assistant, self.turn) for it in items]
        contents: list[str | None] = [None] * len(items)
        calls: list[list[dict[str, Any]]] = [[] for _ in items]
        think = [i for i, it in enumerate(items) if it.value.thinking]
        reasoning: dict[int, str] = {}
        if think and self.config.think_style == "two_step":
            prompts = [reasoning_prompt(chats[i]) for i in think]
            for i, p, c in zip(think, prompts, llm.generate(prompts, self.reason_sampling, rows=think, tag="reason"),
                               strict=True):
                reasoning[i] = c.text.strip()
                calls[i].append({"prompt": p, "reply": c.text})
        inline = think if self.config.think_style == "inline" else []
        inline_set = set(inline)
        answer_rows = [i for i in range(len(items)) if i not in inline_set]
        prompts = [answer_prompt(chats[i], reasoning.get(i)) for i in answer_rows]
        prompts += [inline_prompt(chats[i]) for i in inline]
        rows = answer_rows + inline
        for i, p, c in zip(rows, prompts, llm.generate(prompts, self.answer_sampling, rows=rows, tag="answer"),
                           strict=True):
            calls[i].append({"prompt": p, "reply": c.text})
            if i in inline_set:
                contents[i] = c.text.strip()
            elif split_think(c.text).reasoning is not None:
                contents[i] = c.text.strip()  # the model wrote its own think block: judged by mode_problem
            else:
                contents[i] = with_think(c.text, reasoning.get(i, ""))
        out: list[Outcome] = []
        for i, it in enumerate(items):
            v = it.value
            value = v.model_copy(update={"assistant": [*v.assistant, contents[i]]})
            info = {"turn": self.turn, "model": ctx.model_id, "sampling": self.answer_sampling.lineage(),
                    "think_style": self.config.think_style if v.thinking else "no_think"}
            failure = self._early_failure(value, contents[i]) if self.config.early_stop else None
            if failure is not None:
                # The failing answer stays in the lineage, so a quarantined conversation can be inspected.
                out.append(Quarantined(failure["reason"], _detail([failure]),
                                      {**info, "failures": [failure], "assistant": value.assistant}))
            else:
                out.append(WalkStep(value, info, calls[i]))
        return out

    def _early_failure(self, v: Conversation, content: str) -> dict[str, Any] | None:
        problem = mode_problem(content, v.thinking)
        if problem is not None:
            return {"turn": self.turn, "instruction_ids": [], "reason": problem}
        answer = answer_of(content)
        failed = [c.id for c in v.plan().active(self.turn) if not c.check(answer)]
        return {"turn": self.turn, "instruction_ids": failed, "reason": "constraint_failed"} if failed else None

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "turn": self.turn, "config": self.config.model_dump(mode="json")}


def _detail(failures: list[dict[str, Any]]) -> str:
    parts = [f"turn {f['turn']}: " + (", ".join(f["instruction_ids"]) or f["reason"]) for f in failures]
    return "; ".join(parts)


class VerifyNode(Node):
    """Checks every assistant turn against every constraint active in its turn (on the answer with the
    think block removed); passing conversations become chat records, the rest are quarantined as
    `constraint_failed` (or the mode problem) with the failing instruction ids and turn numbers."""

    kind = "ifthink_verify"

    def __init__(self, config: IFThinkConfig, name: str = "verify"):
        super().__init__(name, Conversation, IFThinkChat, requires=[turns_done(config.turns)])
        self.config = config

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        out: list[Outcome] = []
        for it in items:
            v = it.value
            plan = v.plan()
            messages = [m for u, a in zip(v.user_turns, v.assistant, strict=False)
                        for m in ({"role": "user", "content": u}, {"role": "assistant", "content": a})]
            failures = [f.to_json() for f in verify_conversation(messages, v.constraints, v.thinking)]
            if failures:
                reason = failures[0]["reason"]
                out.append(Quarantined(reason, _detail(failures), {"failures": failures}))
                continue
            chat = IFThinkChat(messages=[Message(**m) for m in messages], instruction_id=v.instruction_id,
                               thinking=v.thinking, constraints=plan.to_json())
            out.append(WalkStep(chat, {"verified_turns": len(v.assistant)}))
        return out
