"""Best-of-n: draw n candidates per input from an LLM node, score each with a verifier, keep by a policy.

Every candidate is an ordinary call of the wrapped node's prompt: its seed derives from the walk key,
the node name and the candidate's index (`call_seed(key, name, "c<j>")`), so candidates differ, a rerun
draws the same ones, and the call cache serves them. All inputs' candidates go to the backend as one
batch per round (the `first` policy draws in waves: candidate j only for inputs with no pass yet).
The candidates, their scores and reasons, the policy and what it kept go into the step's lineage.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from dataforge.core.errors import ForgeError, one_line
from dataforge.core.hashing import stable_hash
from dataforge.nodes.base import Context, Drop, Item, Node, Outcome, WalkStep, carry
from dataforge.nodes.llm import LLMNode
from dataforge.nodes.parsing import ParseError
from dataforge.structs import Struct, is_assignable
from dataforge.verify.base import Verdict, Verifier
from dataforge.verify.select import PAIR_POLICIES, POLICIES, Candidate, select


class BestOfN(Node):
    """n candidates per input from `node`, scored by `verifier`, selected by `policy`.

    Args:
        node: the LLM node whose prompt, sampling and parsing draw each candidate.
        n: candidates per input (>= 1; pair policies need >= 2).
        verifier: scores each parsed candidate (reads fields of `node`'s output).
        policy: `best` (highest score, if it passes), `first` (first passing; stops drawing early),
            `all` (every passing candidate: the walk's value is the best one, and every passing
            candidate is one of its calls, so `emit_calls` writes each as an SFT example),
            `best_worst` or `pass_fail` (a preference pair).
        output: for pair policies, the output struct: the input's fields plus `chosen` and `rejected`
            (see `chosen_field`, `rejected_field`), and `prompt` when it has one the input lacks (e.g. a
            `Preference` sink): the prompt as a string when it is one user message, else the conversation,
            with `chosen`/`rejected` then assistant turns (keeping their `reasoning_content`).
            Other policies output `node`'s output.
        margin: pairs whose score gap is at most this are dropped (`no_preference`).
        per_input: candidate seeds follow the input's content instead of the walk, so several walks
            reaching the same input share one set of candidates (drawn once, then served by the cache),
            e.g. to emit two samples from one rejection-sampled answer.
    Example:
        solve = LLMNode("solve", Problem, Solved, prompt="...", sampling=Sampling(max_tokens=256))
        BestOfN("solve4", solve, n=4, verifier=MathVerifier(answer="solution", reference="answer"),
                policy="best_worst", output=MathPair)
    """

    kind = "best_of_n"
    calls_llm = True

    def __init__(self, name: str, node: LLMNode, *, n: int, verifier: Verifier, policy: str = "best",
                 output: type[Struct] | None = None, chosen_field: str = "chosen",
                 rejected_field: str = "rejected", margin: float = 0.0, per_input: bool = False):
        if not isinstance(node, LLMNode):
            raise ForgeError(f"node {name}: best-of-n draws from an LLMNode, got {type(node).__name__}")
        if policy not in POLICIES:
            raise ForgeError(f"node {name}: unknown policy {policy!r}; use one of {list(POLICIES)}")
        pairs = policy in PAIR_POLICIES
        if not isinstance(n, int) or n < (2 if pairs else 1):
            raise ForgeError(f"node {name}: n must be an int >= {2 if pairs else 1} for policy {policy}, got {n!r}")
        if pairs and output is None:
            raise ForgeError(f"node {name}: policy {policy} needs output= (a struct with '{chosen_field}' and "
                             f"'{rejected_field}' fields)")
        out = output if output is not None else node.output
        super().__init__(name, node.input, out, requires=node.requires,
                         guarantees=node.guarantees if out is node.output else ())
        if pairs:
            for f in (chosen_field, rejected_field):
                if out.model_fields.get(f) is None or not is_assignable(str, out.model_fields[f].annotation):
                    raise ForgeError(f"node {name}: {out.__name__} needs a str field '{f}' for the pair")
        verifier.check_struct(node.output, f"node {name}")
        self.node, self.n, self.verifier, self.policy, self.margin = node, n, verifier, policy, float(margin)
        self.chosen_field, self.rejected_field, self.per_input = chosen_field, rejected_field, per_input

    def key(self, item: Item) -> str:
        if not self.per_input:
            return item.key
        return stable_hash([item.walk.seed_id if item.walk else "", item.value.model_dump(mode="json")], 32)

    def _draw(self, items: list[Item], ctx: Context, todo: list[tuple[int, int]],
              cands: list[list[Candidate]], outs: list[dict[int, Struct]], calls: list[dict[int, Any]]) -> None:
        """Draw candidate j of input i for every (i, j) in `todo` as one batched call, then parse and verify."""
        base = self.node.params(ctx)
        params = [base.with_seed(ctx.call_seed(self.key(items[i]), self.name, f"c{j}")) for i, j in todo]
        prompts = [self.node.render(items[i].value) for i, _ in todo]
        replies = self.node.call(ctx, prompts, params, name=self.name)
        parsed: list[tuple[int, int, Struct]] = []
        for (i, j), p, prompt, c in zip(todo, params, prompts, replies, strict=True):
            info = {"seed": p.seed, "finish_reason": c.finish_reason}
            calls[i][j] = {"prompt": prompt, "reply": c.text, **({"reasoning": c.reasoning} if c.reasoning else {})}
            try:
                out = self.node.parse(c.text, items[i].value, c.finish_reason, c.reasoning)
                broken = self.node.broken(out)
                if broken:
                    raise ParseError(f"reply breaks guarantee {broken[0]}")
            except (ParseError, ValidationError, ValueError, TypeError) as e:
                cands[i].append(Candidate(j, c.text, Verdict(0.0, False, f"unparseable: {one_line(e)}"),
                                          parsed=False, info=info))
                continue
            outs[i][j] = out
            parsed.append((i, j, out))
            cands[i].append(Candidate(j, c.text, Verdict(0.0, False, ""), info=info))
        keys = [f"{self.key(items[i])}/c{j}" for i, j, _ in parsed]
        verdicts = self.verifier.verify_batch(keys, [o for _, _, o in parsed], ctx, node=self.name)
        for (i, j, _), v in zip(parsed, verdicts, strict=True):
            next(c for c in cands[i] if c.index == j).verdict = v

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        cands: list[list[Candidate]] = [[] for _ in items]
        outs: list[dict[int, Struct]] = [{} for _ in items]
        calls: list[dict[int, Any]] = [{} for _ in items]
        if self.policy == "first":
            rows = list(range(len(items)))
            for j in range(self.n):  # in waves: candidate j only where no candidate passed yet
                if not rows:
                    break
                self._draw(items, ctx, [(i, j) for i in rows], cands, outs, calls)
                rows = [i for i in rows if not any(c.verdict.passed for c in cands[i])]
        else:  # every candidate of every input in one batch
            self._draw(items, ctx, [(i, j) for i in range(len(items)) for j in range(self.n)], cands, outs, calls)
        for cs in cands:
            cs.sort(key=lambda c: c.index)
        return [self._outcome(items[i], cands[i], outs[i], calls[i], ctx) for i in range(len(items))]

    def _outcome(self, item: Item, cands: list[Candidate], outs: dict[int, Struct], calls: dict[int, Any],
                 ctx: Context) -> Outcome:
        sel = select(self.policy, cands, self.margin)
        info = {"template_hash": self.node.template_hash, "model": self.node.model_of(ctx),
                "sampling": self.node.sampling.lineage(),
                "best_of_n": {"n": self.n, "drawn": len(cands), "policy": self.policy, "margin": self.margin,
                              "verifier": self.verifier.describe(), "selected": sel.kept,
                              "candidates": [c.to_json() for c in cands]}}
        if sel.drop is not None:
            return Drop(sel.drop, sel.detail, info)
        if self.policy in PAIR_POLICIES:
            chosen, rejected = (calls[k] for k in sel.kept)
            out = carry(item.value, self.output, **self._pair(chosen, rejected))
            return WalkStep(out, info, [chosen])  # the rejected answer is no SFT example
        best = sel.kept[0] if self.policy != "all" else max(
            sel.kept, key=lambda k: (next(c for c in cands if c.index == k).verdict.score, -k))
        return WalkStep(outs[best], info, [calls[k] for k in sel.kept])

    def _pair(self, chosen: dict[str, Any], rejected: dict[str, Any]) -> dict[str, Any]:
        """The pair's fields: answers as strings, or as assistant turns when the prompt is a conversation."""
        prompt = chosen["prompt"]
        single = isinstance(prompt, str) or (len(prompt) == 1 and prompt[0]["role"] == "user")
        fills_prompt = "prompt" in self.output.model_fields and "prompt" not in self.input.model_fields
        conversational = fills_prompt and not single

        def turn(call: dict[str, Any]) -> Any:
            if not conversational:
                return call["reply"].strip()
            msg = {"role": "assistant", "content": call["reply"].strip()}
            return [{**msg, "reasoning_content": call["reasoning"]} if call.get("reasoning") else msg]

        new = {self.chosen_field: turn(chosen), self.rejected_field: turn(rejected)}
        if fills_prompt:
            new["prompt"] = (prompt if isinstance(prompt, str) else prompt[0]["content"]) if single else prompt
        return new

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "node": self.node.describe(), "n": self.n, "policy": self.policy,
                "margin": self.margin, "per_input": self.per_input, "verifier": self.verifier.describe(),
                "chosen_field": self.chosen_field, "rejected_field": self.rejected_field}
