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

from dataforge.core.errors import ForgeError
from dataforge.nodes.base import Context, Drop, Item, Node, Outcome, WalkStep, carry
from dataforge.nodes.llm import LLMNode, _one_line
from dataforge.nodes.parsing import ParseError
from dataforge.structs import Struct
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
            strings (see `chosen_field`, `rejected_field`); other policies output `node`'s output.
        margin: pairs whose score gap is at most this are dropped (`no_preference`).
    Example:
        solve = LLMNode("solve", Problem, Solved, prompt="...", sampling=Sampling(max_tokens=256))
        BestOfN("solve4", solve, n=4, verifier=MathVerifier(answer="solution", reference="answer"),
                policy="best_worst", output=MathPair)
    """

    kind = "best_of_n"
    calls_llm = True

    def __init__(self, name: str, node: LLMNode, *, n: int, verifier: Verifier, policy: str = "best",
                 output: type[Struct] | None = None, chosen_field: str = "chosen",
                 rejected_field: str = "rejected", margin: float = 0.0):
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
                if out.model_fields.get(f) is None or out.model_fields[f].annotation is not str:
                    raise ForgeError(f"node {name}: {out.__name__} needs a str field '{f}' for the pair")
        verifier.check_struct(node.output, f"node {name}")
        self.node, self.n, self.verifier, self.policy, self.margin = node, n, verifier, policy, float(margin)
        self.chosen_field, self.rejected_field = chosen_field, rejected_field

    def _draw(self, items: list[Item], ctx: Context, todo: list[tuple[int, int]],
              cands: list[list[Candidate]], outs: list[dict[int, Struct]], calls: list[dict[int, Any]]) -> None:
        """Draw candidate j of input i for every (i, j) in `todo` as one batched call, then parse and verify."""
        base = self.node.params(ctx)
        params = [base.with_seed(ctx.call_seed(items[i].key, self.name, f"c{j}")) for i, j in todo]
        prompts = [self.node.render(items[i].value) for i, _ in todo]
        replies = ctx.generate(self.name, prompts, params)
        parsed: list[tuple[int, int, Struct]] = []
        for (i, j), p, prompt, c in zip(todo, params, prompts, replies, strict=True):
            info = {"seed": p.seed, "finish_reason": c.finish_reason}
            calls[i][j] = {"prompt": prompt, "reply": c.text}
            try:
                out = self.node.parse(c.text, items[i].value, c.finish_reason)
                broken = self.node.broken(out)
                if broken:
                    raise ParseError(f"reply breaks guarantee {broken[0]}")
            except (ParseError, ValidationError, ValueError, TypeError) as e:
                cands[i].append(Candidate(j, c.text, Verdict(0.0, False, f"unparseable: {_one_line(e)}"),
                                          parsed=False, info=info))
                continue
            outs[i][j] = out
            parsed.append((i, j, out))
            cands[i].append(Candidate(j, c.text, Verdict(0.0, False, ""), info=info))
        keys = [f"{items[i].key}/c{j}" for i, j, _ in parsed]
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
        info = {"template_hash": self.node.template_hash, "model": ctx.model_id,
                "sampling": self.node.sampling.lineage(),
                "best_of_n": {"n": self.n, "drawn": len(cands), "policy": self.policy, "margin": self.margin,
                              "verifier": self.verifier.describe(), "selected": sel.kept,
                              "candidates": [c.to_json() for c in cands]}}
        if sel.drop is not None:
            return Drop(sel.drop, sel.detail, info)
        if self.policy in PAIR_POLICIES:
            chosen, rejected = (next(c for c in cands if c.index == k) for k in sel.kept)
            out = carry(item.value, self.output, **{self.chosen_field: chosen.text.strip(),
                                                    self.rejected_field: rejected.text.strip()})
            return WalkStep(out, info, [calls[chosen.index]])  # the rejected answer is no SFT example
        best = sel.kept[0] if self.policy != "all" else max(
            sel.kept, key=lambda k: (next(c for c in cands if c.index == k).verdict.score, -k))
        return WalkStep(outs[best], info, [calls[k] for k in sel.kept])

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "node": self.node.describe(), "n": self.n, "policy": self.policy,
                "margin": self.margin, "verifier": self.verifier.describe(),
                "chosen_field": self.chosen_field, "rejected_field": self.rejected_field}
