"""Mixture specs: `Source`, `Stage`, `Mixture`, declared in a Python module and checked on construction.

    from mixtures import Mixture, Stage, Source
    web = Source("web", path="curated/web")
    math = Source("math", path="curated/math", max_epochs=4)
    mixture = Mixture(name="demo", tokenizer="embedded", seed=1234,
                      stages=[Stage("stable", tokens=2_000_000, seq_len=2048, weights={web: 0.9, math: 0.1})])

Every check raises a one-line `MixtureSpecError` naming the field (`stages[1].weights`, ...). Checks that
need the data (a budget a source cannot meet within its `max_epochs`) run at build time.
"""

from __future__ import annotations

import math as _math
from typing import Any, ClassVar, Literal

from pydantic import Field, PrivateAttr, model_validator

from dataforge.core.errors import SpecError
from dataforge.core.hashing import canonical_json
from dataforge.core.spec import SpecModel, check_name
from mixtures.templates import DEFAULT_TEMPLATE, chat_identity, chat_problem

WEIGHT_SUM_TOLERANCE = 1e-6
# Sizes outside these bounds are mistakes (a typo'd exponent, a missing unit), refused before any work:
# 10**15 tokens is about 4 PB of shards; a piece of over 2**20 tokens or under 8 is no training sequence;
# shards under 2**10 tokens would mean millions of files, over 2**31 a 8 GiB file per shard.
MAX_TOKENS = 10**15
SEQ_LEN_RANGE = (8, 1 << 20)
SHARD_TOKENS_RANGE = (1 << 10, 1 << 31)
# Without max_epochs a source may still be repeated at most this often over all stages: beyond it a
# budget is a mistake, and the planner's memory grows with the epochs it lays out.
MAX_EPOCHS = 1000


class MixtureSpecError(SpecError):
    """A mixture spec that cannot be built; the message names the field at fault."""


def _check_name(what: str, name: str) -> None:
    try:
        check_name(name, what)
    except ValueError as e:
        raise MixtureSpecError(str(e)) from None


class _SpecModel(SpecModel):
    """Mixtures' spec base: raises `MixtureSpecError`, and takes the name as the first positional argument."""

    error_class: ClassVar[type[SpecError]] = MixtureSpecError

    def __init__(self, name: str | None = None, /, **data: Any):
        if name is not None:
            data["name"] = name
        super().__init__(**data)


def _check_chat(where: str, template: str | None, roles: dict[str, str] | None, prompt: str | None) -> None:
    problem = chat_problem(template, roles, prompt)
    if problem:
        raise MixtureSpecError(f"{where}.{problem}")


class Source(_SpecModel):
    """One input of a mixture: a dataset dir the engine wrote, a plain Parquet/JSONL dir, or a manifest id.

    Args:
        name: how stages refer to it; also its name in the manifest and the loader.
        path: a directory (absolute, or relative to the spec file, else to the working dir) or a manifest id.
        max_epochs: the most times the build may repeat the source over all stages (None: at most
            MAX_EPOCHS = 1000, the largest value allowed).
        holdout_docs: documents held out for the validation slice (at most a tenth of the source).
        kind: "text", "chat", "completion" or "preference": which records to take from a dataset that holds
            several (curating generated chat records together with web text gives one such dataset); None
            takes the dataset's only kind.
        chat_template, roles, system_prompt: this source's chat settings (mixtures/templates.py); None
            takes the mixture's. `system_prompt="none"` adds no system prompt. Preference sources are
            rendered with the tokenizer's own template (mixtures/pairs.py).
    Example:
        math = Source("math", path="curated/math", max_epochs=4)
        sft = Source("sft", path="curated/all", kind="chat")
        agent = Source("agent", path="curated/tools", chat_template="chatml-tools", roles={"assistant": "me"})
    """

    name: str
    path: str
    max_epochs: float | None = Field(default=None, gt=0, le=MAX_EPOCHS)
    holdout_docs: int = Field(default=32, ge=0)
    kind: Literal["text", "chat", "completion", "preference"] | None = None
    chat_template: str | None = None
    roles: dict[str, str] | None = None
    system_prompt: str | None = None

    @model_validator(mode="after")
    def _names(self) -> Source:
        _check_name("Source name", self.name)
        if not self.path:
            raise MixtureSpecError(f"Source({self.name!r}).path: empty; give a dataset directory or a manifest id")
        _check_chat(f"Source({self.name!r})", self.chat_template, self.roles, self.system_prompt)
        return self

    def __hash__(self) -> int:  # a Source is a weights key; `roles` (a dict) has no hash of its own
        return hash(canonical_json(self.model_dump(mode="json")))


class Stage(_SpecModel):
    """A training stage: a token budget split over sources by weight.

    Args:
        name: the stage's name (unique within the mixture).
        tokens: the stage's token budget; may be left out when the weights are token counts.
        seq_len: documents are cut into pieces of at most this many tokens.
        weights: Source (or source name) -> proportion (summing to 1) or absolute token count.
    Example:
        Stage("decay", tokens=500_000, seq_len=2048, weights={web: 0.6, math: 0.4})
    """

    name: str
    tokens: int | None = Field(default=None, gt=0, le=MAX_TOKENS)
    seq_len: int = Field(default=2048, ge=SEQ_LEN_RANGE[0], le=SEQ_LEN_RANGE[1])
    weights: dict[str, float]
    # The Source objects used as weight keys; the Mixture collects them into its `sources`.
    declared: list[Source] = Field(default_factory=list, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _source_keys(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("weights"), dict):
            declared, weights = list(data.get("declared") or []), {}
            for k, v in data["weights"].items():
                if isinstance(k, Source):
                    declared.append(k)
                    k = k.name
                if k in weights:
                    raise MixtureSpecError(f"Stage({data.get('name')!r}).weights: source {k!r} appears twice")
                weights[k] = v
            data = {**data, "weights": weights, "declared": declared}
        return data

    @model_validator(mode="after")
    def _check(self) -> Stage:
        _check_name("Stage name", self.name)
        where = f"Stage({self.name!r}).weights"
        if not self.weights:
            raise MixtureSpecError(f"{where}: empty; give at least one source")
        for k, w in self.weights.items():
            if not _math.isfinite(w) or w < 0:
                raise MixtureSpecError(f"{where}[{k!r}]: {w} is not a non-negative number")
        if self.is_absolute:
            if any(w != int(w) for w in self.weights.values()):
                raise MixtureSpecError(f"{where}: token counts (weights > 1) must be whole numbers")
            total = int(sum(self.weights.values()))
            if total > MAX_TOKENS:
                raise MixtureSpecError(f"{where}: token counts sum to {total:.3g}, more than {MAX_TOKENS:.0e}; "
                                       "give proportions with a smaller `tokens` or smaller counts")
            if self.tokens is not None and self.tokens != total:
                raise MixtureSpecError(f"Stage({self.name!r}).tokens: {self.tokens} but the weights' token "
                                       f"counts sum to {total}; drop `tokens` or make them agree")
        else:
            total = sum(self.weights.values())
            if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
                raise MixtureSpecError(f"{where}: proportions sum to {total:.6g}, not 1 (within 1e-6); fix them "
                                       "or give absolute token counts")
            if self.tokens is None:
                raise MixtureSpecError(f"Stage({self.name!r}).tokens: missing; proportions need a token budget")
        return self

    @property
    def is_absolute(self) -> bool:
        """True when the weights are token counts rather than proportions."""
        return any(w > 1 for w in self.weights.values())

    @property
    def budget(self) -> int:
        return int(sum(self.weights.values())) if self.is_absolute else int(self.tokens)

    def target_tokens(self) -> dict[str, int]:
        """Tokens per source; proportions are rounded by largest remainder so they sum to the budget."""
        if self.is_absolute:
            return {k: int(w) for k, w in self.weights.items()}
        exact = {k: w * self.budget for k, w in self.weights.items()}
        out = {k: int(_math.floor(v)) for k, v in exact.items()}
        short = self.budget - sum(out.values())
        for k in sorted(exact, key=lambda k: (out[k] - exact[k], k))[:short]:
            out[k] += 1
        return out

    def target_weights(self) -> dict[str, float]:
        return {k: t / self.budget for k, t in self.target_tokens().items()}


class Mixture(_SpecModel):
    """A versioned training mixture: sources, a tokenizer and an ordered list of stages.

    Args:
        name: the mixture's name (its id is a content hash, the name is for people).
        tokenizer: a local HF tokenizer folder, or "embedded" for the embedded SmolLM2 tokenizer.
        seed: drives sampling, hold-out selection and shuffling.
        stages: trained in order.
        sources: optional; sources used as weight keys are collected automatically.
        append_eos: end each text document with the tokenizer's EOS token (chat documents end with the
            template's own end-of-turn tokens).
        shard_tokens: about how many tokens one shard file holds.
        chat_template: "tokenizer" (its own template), "chatml-tools", or a .jinja file beside the spec.
        roles: contract role -> rendered name, e.g. {"assistant": "me"} (the loss mask still follows the
            assistant turns).
        system_prompt: "default" (the template's), "none" or None (no system prompt added), or a text
            inserted as the system message of conversations that have none.
    Example:
        Mixture(name="demo", tokenizer="embedded", seed=1234, stages=[Stage("stable", tokens=10_000,
                weights={web: 1.0})])
    """

    name: str
    tokenizer: str
    seed: int = 0
    stages: list[Stage]
    sources: list[Source] = Field(default_factory=list)
    append_eos: bool = True
    shard_tokens: int = Field(default=1 << 28, ge=SHARD_TOKENS_RANGE[0], le=SHARD_TOKENS_RANGE[1])
    description: str = ""
    chat_template: str = DEFAULT_TEMPLATE
    roles: dict[str, str] = Field(default_factory=dict)
    system_prompt: str | None = "default"
    _by_name: dict[str, Source] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _collect_sources(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("stages"), list):
            found = list(data.get("sources") or [])
            for st in data["stages"]:
                if isinstance(st, Stage):
                    found.extend(s for s in st.declared if s not in found)
            data = {**data, "sources": found}
        return data

    @model_validator(mode="before")
    @classmethod
    def _no_system_prompt(cls, data: Any) -> Any:
        if isinstance(data, dict) and "system_prompt" in data and data["system_prompt"] is None:
            data = {**data, "system_prompt": "none"}  # one spelling, so the id does not depend on it
        return data

    @model_validator(mode="after")
    def _check(self) -> Mixture:
        _check_name("Mixture name", self.name)
        _check_chat(f"Mixture({self.name!r})", self.chat_template, self.roles, self.system_prompt)
        if not self.tokenizer:
            raise MixtureSpecError(f"Mixture({self.name!r}).tokenizer: empty; give a local HF tokenizer folder "
                                   "or 'embedded'")
        if not self.stages:
            raise MixtureSpecError(f"Mixture({self.name!r}).stages: empty; give at least one Stage")
        by_name: dict[str, Source] = {}
        for s in self.sources:
            if s.name in by_name and by_name[s.name] != s:
                raise MixtureSpecError(f"Mixture({self.name!r}).sources: two different sources named {s.name!r}")
            by_name[s.name] = s
        total = sum(st.budget for st in self.stages)
        if total > MAX_TOKENS:
            raise MixtureSpecError(f"Mixture({self.name!r}).stages: budgets sum to {total:.3g} tokens, more than "
                                   f"{MAX_TOKENS:.0e}; lower the stages' tokens")
        seen = set()
        for i, st in enumerate(self.stages):
            if st.name in seen:
                raise MixtureSpecError(f"Mixture({self.name!r}).stages[{i}].name: stage {st.name!r} appears twice")
            seen.add(st.name)
            for k in st.weights:
                if k not in by_name:
                    raise MixtureSpecError(
                        f"Mixture({self.name!r}).stages[{i}].weights: unknown source {k!r} in stage {st.name!r}; "
                        f"known: {sorted(by_name)}; use the Source object as the key or list it in sources=[...]")
        # Stable order for manifests and ids: sources by name.
        object.__setattr__(self, "sources", sorted(by_name.values(), key=lambda s: s.name))
        self._by_name = {s.name: s for s in self.sources}
        return self

    def source(self, name: str) -> Source:
        return self._by_name[name]

    def stage_sources(self) -> list[str]:
        """Names of the sources some stage names in its weights, sorted: the ones a build reads."""
        return sorted({k for st in self.stages for k in st.weights})

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def identity_json(self) -> dict[str, Any]:
        """The spec as it enters the mixture id: locations (source paths, tokenizer path) are left out
        because the source manifest ids and the tokenizer hash already pin their content."""
        spec = self.to_json()
        spec.pop("tokenizer")
        chat_identity(spec, {"chat_template": DEFAULT_TEMPLATE, "roles": {}, "system_prompt": "default"})
        for s in spec["sources"]:
            s.pop("path")
            chat_identity(s, {"chat_template": None, "roles": None, "system_prompt": None})
        return spec
