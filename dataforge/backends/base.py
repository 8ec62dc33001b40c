"""The backend interface: one batched call turns a list of prompts into a list of completions.

A prompt is a raw string or a chat (a list of `{"role", "content"}` messages). Sampling parameters
travel with each prompt, so one batch can mix seeds; everything a reply depends on (model id,
sampling parameters, prompt, seed) is part of the call's cache key.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field

from dataforge.core.hashing import canonical_json, stable_hash
from dataforge.core.spec import SpecModel

Message = dict[str, str]
Prompt = str | list[Message]


class Sampling(SpecModel):
    """Sampling parameters of one call.

    Args:
        max_tokens: new tokens at most.
        temperature: 0 means greedy decoding.
        top_p: nucleus sampling mass (1 keeps the whole distribution).
        seed: the call's seed; the same prompt, parameters and seed give the same reply.
        stop: strings that end the reply (the reply is cut before the first one).
        json_schema: when set, backends that can constrain decoding return JSON matching it.
    Example:
        Sampling(max_tokens=32, temperature=0.7, seed=1)
    """

    max_tokens: int = Field(128, ge=1)
    temperature: float = Field(0.7, ge=0)
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = 0
    stop: tuple[str, ...] = ()
    json_schema: dict[str, Any] | None = None

    def with_seed(self, seed: int) -> Sampling:
        return self.model_copy(update={"seed": seed})

    def lineage(self) -> dict[str, Any]:
        """The parameters as recorded in lineage (the schema is summarized by its hash)."""
        d = self.model_dump(mode="json")
        d["json_schema"] = stable_hash(self.json_schema, 16) if self.json_schema else None
        return d


@dataclass(slots=True)
class Completion:
    """One reply: its text, why it ended (`stop` or `length`) and how many tokens it took.

    `reasoning` is the model's reasoning trace when the server returned it apart (`reasoning_content`)
    or the backend split it off the text (a `<think>` block); None when there was none.
    """

    text: str
    finish_reason: str = "stop"
    tokens: int = 0
    cached: bool = False
    reasoning: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"text": self.text, "finish_reason": self.finish_reason, "tokens": self.tokens}
        return out if self.reasoning is None else {**out, "reasoning": self.reasoning}


THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def split_reasoning(text: str) -> tuple[str | None, str]:
    """(reasoning, answer) of a reply, as vLLM's `<think>` reasoning parsers split it.

    A leading `<think>...</think>` block is the reasoning; so is everything before a `</think>` when the
    chat template opened the block in the prompt. A `<think>` never closed (the reply ran out of
    tokens) is all reasoning and no answer. No think tags: no reasoning, the whole text is the answer.

    Example:
        split_reasoning("<think>2+2=4</think>\n\nIt is 4.")  # ("2+2=4", "It is 4.")
    """
    body = text.lstrip()
    if body.startswith(THINK_OPEN):
        body = body[len(THINK_OPEN):]
        if THINK_CLOSE not in body:
            return body.strip(), ""
    elif THINK_CLOSE not in body:
        return None, text
    reasoning, _, answer = body.partition(THINK_CLOSE)
    return reasoning.strip(), answer.strip()


def with_reasoning(c: Completion) -> Completion:
    """`c` with a `<think>` block split off its text into `reasoning` (unchanged when there is none)."""
    reasoning, answer = split_reasoning(c.text)
    if reasoning is None:
        return c
    return Completion(answer, c.finish_reason, c.tokens, c.cached, reasoning)


def prompt_text(prompt: Prompt) -> str:
    """A canonical string form of a prompt (for hashing and per-row seeds)."""
    return prompt if isinstance(prompt, str) else canonical_json(prompt)


def row_seed(params: Sampling, prompt: Prompt) -> int:
    """The random seed of one row: a function of the call's seed and prompt only.

    It does not depend on the batch a row lands in, so replies are the same whatever the batch size.
    """
    return int(stable_hash([params.seed, prompt_text(prompt)], 15), 16)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` before the first stop string; returns the text and whether a stop string was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def check_prompts(prompts: Sequence[Prompt]) -> None:
    for i, p in enumerate(prompts):
        if isinstance(p, str):
            continue
        if not isinstance(p, list) or not p:
            raise ValueError(f"prompt {i}: a prompt is a string or a non-empty list of chat messages")
        for j, m in enumerate(p):
            if not isinstance(m, dict) or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
                raise ValueError(f"prompt {i} message {j}: a message is {{'role': str, 'content': str}}")


def as_params(params: Sampling | Sequence[Sampling], n: int) -> list[Sampling]:
    if isinstance(params, Sampling):
        return [params] * n
    params = list(params)
    if len(params) != n:
        raise ValueError(f"got {len(params)} sampling parameter sets for {n} prompts")
    return params


class Backend(abc.ABC):
    """A batched text generator.

    Subclasses implement `_generate` for a batch; `generate` validates and fans sampling parameters
    out to one set per prompt. `model_id` is stable across machines: it keys the call cache.
    """

    kind: ClassVar[str] = ""
    supports_json_schema: ClassVar[bool] = False
    batch_size: int = 16

    @property
    @abc.abstractmethod
    def model_id(self) -> str: ...

    def generate(self, prompts: Sequence[Prompt], params: Sampling | Sequence[Sampling]) -> list[Completion]:
        """Complete every prompt; `params` is one `Sampling` for all or one per prompt."""
        out: list[Completion | None] = [None] * len(prompts)
        for idx, done in self.stream(prompts, params):
            for i, c in zip(idx, done, strict=True):
                out[i] = c
        return out  # type: ignore[return-value]

    def stream(self, prompts: Sequence[Prompt], params: Sampling | Sequence[Sampling]
               ) -> Iterator[tuple[list[int], list[Completion]]]:
        """Complete every prompt, yielding (prompt indices, completions) as each sub-batch finishes.

        Callers that persist results (the call cache) write each chunk as it arrives, so a crash
        loses at most the sub-batch in flight.
        """
        prompts = list(prompts)
        if not prompts:
            return
        check_prompts(prompts)
        params = as_params(params, len(prompts))
        for idx in self._chunks(prompts):
            yield idx, self._generate([prompts[i] for i in idx], [params[i] for i in idx])

    def _chunks(self, prompts: list[Prompt]) -> list[list[int]]:
        """Sub-batches of at most `batch_size` prompt indices (subclasses may reorder for packing)."""
        n = len(prompts)
        return [list(range(s, min(s + self.batch_size, n))) for s in range(0, n, self.batch_size)]

    @abc.abstractmethod
    def _generate(self, prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        """Complete one sub-batch (at most `batch_size` prompts)."""

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release the model (engines, worker processes, connections)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
