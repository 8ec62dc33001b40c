"""LLM-as-judge filter: DataForge's rubric judge (JudgeNode) scores each document with a backend.

The backend is described by a `BackendSpec` (the embedded SmolLM2 on transformers by default; vLLM
or any OpenAI-compatible server fleet for real runs) and built once per executor process. Each
record's call seed derives from the step's seed and the record's id, so reruns ask the same question
with the same seed. Documents scoring below the threshold are dropped (`judge_low_score`); replies
that cannot be parsed after retries are quarantined (`judge_unparseable`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, PrivateAttr

from curation.steps.base import Doc, Quarantine, RecordStep
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash


def _structs():
    from dataforge.structs import Struct

    class Document(Struct):
        text: str

    class Judged(Struct):
        text: str
        score: float
        rationale: str

    return Document, Judged


class _Ctx:
    """The engine context a judge node needs: batched generation and deterministic call seeds."""

    def __init__(self, backend, seed: int):
        self.backend, self.seed = backend, seed
        self.model_id = backend.model_id
        self.supports_json_schema = backend.supports_json_schema

    def generate(self, node: str, prompts, params):
        return self.backend.generate(prompts, params)

    def call_seed(self, key: str, node: str, attempt: int = 0) -> int:
        return int(stable_hash([self.seed, key, node, attempt], 15), 16)


class LLMJudgeFilter(RecordStep):
    """Keep documents that an LLM judge scores at or above `threshold` on a rubric.

    Adds `judge_score` and `judge_rationale` to kept records' metadata.

    Args:
        rubric: what a good training document looks like.
        threshold: lowest passing score, within `scale`.
        scale: score range.
        backend: a `dataforge.backends.BackendSpec` (default: embedded SmolLM2 on transformers).
        max_tokens, temperature, seed: sampling of the judge's reply.
        max_chars: characters of the document shown to the judge.
    Example:
        LLMJudgeFilter(rubric="Informative, well-written English prose.", threshold=3,
                       backend=BackendSpec(kind="openai", model="judge", options={"base_url": URL}))
    """

    rubric: str
    threshold: float = 3
    scale: tuple[float, float] = (1, 5)
    backend: Any = None
    max_tokens: int = Field(48, ge=8)
    temperature: float = Field(0.0, ge=0)
    seed: int = 0
    max_chars: int = Field(2000, ge=100)
    retries: int = Field(1, ge=0)
    _node: Any = PrivateAttr(None)
    _ctx: Any = PrivateAttr(None)

    def model_post_init(self, _context: Any) -> None:
        from dataforge.backends import BackendSpec

        if self.backend is None:
            self.backend = BackendSpec()
        elif isinstance(self.backend, dict):
            self.backend = BackendSpec(**self.backend)
        elif not isinstance(self.backend, BackendSpec):
            raise ValueError("backend must be a dataforge.backends.BackendSpec")
        lo, hi = self.scale
        if not lo <= self.threshold <= hi:
            raise ValueError(f"threshold {self.threshold} is outside the scale {self.scale}")

    def config(self) -> dict[str, Any]:
        cfg = super().config()
        cfg["backend"] = self.backend.model_dump(mode="json")
        return cfg

    def open(self) -> None:
        from dataforge.backends import Sampling, backend_for
        from dataforge.nodes.judge import JudgeNode

        document, judged = _structs()
        self._node = JudgeNode("judge", document, judged, rubric=self.rubric, threshold=self.threshold,
                               scale=self.scale, retries=self.retries,
                               sampling=Sampling(max_tokens=self.max_tokens, temperature=self.temperature))
        self._ctx = _Ctx(backend_for(self.backend), self.seed)

    def judge_batch(self, docs: list[Doc]) -> list[str | None]:
        from dataforge.nodes.base import Drop, Item, WalkStep

        if self._node is None:
            self.open()
        document = self._node.input
        items = [Item(key=d.id, value=document(text=d.text[: self.max_chars])) for d in docs]
        try:
            outcomes = self._node.run(items, self._ctx)
        except ForgeError as e:  # the backend failed for good (server down, bad key): name the records
            more = f" and {len(docs) - 1} more" if len(docs) > 1 else ""
            raise ForgeError(f"LLMJudgeFilter, record {docs[0].id!r}{more}: {e}") from e
        out: list[str | None] = []
        for d, o in zip(docs, outcomes, strict=True):
            if isinstance(o, WalkStep):
                d.metadata["judge_score"] = float(o.output.score)
                d.metadata["judge_rationale"] = o.output.rationale[:500]
                out.append(None)
            elif isinstance(o, Drop):
                out.append("judge_low_score")
            else:
                out.append(Quarantine("judge_unparseable"))
        return out
