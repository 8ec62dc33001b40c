"""An optional LLM judge of rephrase fidelity: each (source chunk, rephrased chunk) pair is graded."""

from __future__ import annotations

from statistics import fmean
from typing import Any

from dataforge.backends.base import Sampling
from dataforge.core.errors import ForgeError
from dataforge.nodes.base import Context, Item, Node, Outcome, Quarantined, WalkStep
from dataforge.nodes.func import NodeLLM
from dataforge.nodes.parsing import ParseError, parse_json_object, parse_score
from dataforge.rephrase.nodes import ScoredRephrase

RUBRIC = ("Does the rewrite keep every fact, number and name of the source, without adding facts or "
          "changing meaning? 5: everything kept, nothing added; 3: minor omissions; 1: unrelated or wrong.")
PROMPT = """You check rewrites of source texts. {rubric}

Source:
<source>
{source}
</source>

Rewrite:
<rewrite>
{rewrite}
</rewrite>

Reply with JSON: {{"score": <integer {lo}-{hi}>, "rationale": "<one sentence>"}}"""


class FaithfulnessJudge(Node):
    """Grades every chunk of a rephrase against its source with the LLM; the document's judge score is
    the mean over chunks, and rephrases below `threshold` (or with any chunk below `min_chunk`) are
    quarantined as `judge_low` with their scores. A reply with no score is retried once, then the walk
    is quarantined as `judge_unparsed`.

    Args:
        threshold: the lowest mean score kept.
        min_chunk: the lowest score any chunk may get (None: no per-chunk floor).
        scale: the score range.
    Example:
        FaithfulnessJudge(threshold=3.5, sampling=Sampling(max_tokens=64, temperature=0.0))
    """

    kind = "rephrase_judge"
    calls_llm = True

    def __init__(self, threshold: float = 3.0, *, min_chunk: float | None = None, scale: tuple[int, int] = (1, 5),
                 rubric: str = RUBRIC, sampling: Sampling | None = None, name: str = "judge"):
        super().__init__(name, ScoredRephrase, ScoredRephrase)
        lo, hi = scale
        if not lo <= threshold <= hi:
            raise ForgeError(f"node {name}: threshold {threshold} is outside the scale {scale}")
        self.threshold, self.min_chunk, self.scale, self.rubric = float(threshold), min_chunk, (lo, hi), rubric
        self.sampling = sampling or Sampling(max_tokens=64, temperature=0.0)

    def _prompt(self, source: str, rewrite: str) -> list[dict[str, str]]:
        lo, hi = self.scale
        return [{"role": "user", "content": PROMPT.format(rubric=self.rubric, source=source, rewrite=rewrite,
                                                          lo=lo, hi=hi)}]

    def _score(self, reply: str) -> float | None:
        lo, hi = self.scale
        try:
            score = parse_json_object(reply).get("score")
            if isinstance(score, (int, float)) and not isinstance(score, bool) and lo <= score <= hi:
                return float(score)
        except ParseError:
            pass
        try:
            return parse_score(reply, lo, hi)
        except ParseError:
            return None

    def run(self, items: list[Item], ctx: Context) -> list[Outcome]:
        llm = NodeLLM(ctx, self.name, [it.key for it in items])
        pairs = [(i, k) for i, it in enumerate(items) for k in range(len(it.value.chunks))]
        scores: dict[tuple[int, int], float | None] = {p: None for p in pairs}
        calls: dict[int, list[dict[str, Any]]] = {i: [] for i in range(len(items))}
        for attempt in range(2):
            todo = [p for p in pairs if scores[p] is None]
            if not todo:
                break
            prompts = [self._prompt(items[i].value.chunks[k], items[i].value.rephrased_chunks[k]) for i, k in todo]
            replies = llm.generate(prompts, self.sampling, rows=[i for i, _ in todo], tag=f"judge{attempt}")
            for (i, k), prompt, c in zip(todo, prompts, replies, strict=True):
                scores[(i, k)] = self._score(c.text)
                calls[i].append({"prompt": prompt, "reply": c.text})
        out: list[Outcome] = []
        for i, it in enumerate(items):
            chunk_scores = [scores[(i, k)] for k in range(len(it.value.chunks))]
            info = {"judge": {"chunk_scores": chunk_scores, "threshold": self.threshold, "model": ctx.model_id,
                              "sampling": self.sampling.lineage()}}
            if any(s is None for s in chunk_scores):
                bad = [k for k, s in enumerate(chunk_scores) if s is None]
                out.append(Quarantined("judge_unparsed", f"no score for chunks {bad} after 2 attempts", info))
                continue
            mean = fmean(chunk_scores)
            info["judge"]["score"] = mean
            floor = self.min_chunk is not None and min(chunk_scores) < self.min_chunk
            if mean < self.threshold or floor:
                out.append(Quarantined("judge_low", f"judge score {mean:.2f} (chunks {chunk_scores}) below "
                                      f"{self.threshold:g}" + (f" or a chunk below {self.min_chunk:g}" if floor else ""),
                                      info))
                continue
            value = it.value.model_copy(update={"judge_score": mean, "judge_chunk_scores": chunk_scores})
            out.append(WalkStep(value, info, calls[i]))
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "threshold": self.threshold, "min_chunk": self.min_chunk,
                "scale": list(self.scale), "rubric": self.rubric, "sampling": self.sampling.lineage()}
