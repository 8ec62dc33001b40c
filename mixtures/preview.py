"""A mixture's plan before any build: what `forge mix plan` prints and draws.

It runs exactly the build's steps up to the plan (resolve sources, tokenize with Spark, count tokens,
`mixtures.plan.build_plan`) and stops there: no shard, index, registry entry or staging directory is
written, so the numbers are the ones a build of the same spec and sources would commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixtures.charts import composition_chart, epoch_warnings
from mixtures.spec import Mixture


@dataclass
class MixturePlan:
    """The planned numbers of a mixture spec.

    Args:
        stages: per stage: name, tokens, seq_len, sft, and per source its target weight, tokens,
            documents and epochs (the plan's own stats, as a built manifest's `extra.stages` holds them).
        sources: per source: kind, train/held-out docs and tokens, epochs over the run, max_epochs.
        quarantined: records that could not be tokenized (a build would quarantine them).
        warnings: sources near their max_epochs.
    """

    name: str
    stages: list[dict[str, Any]]
    sources: dict[str, dict[str, Any]]
    quarantined: int = 0
    warnings: list[str] = field(default_factory=list)

    def chart(self, path: str | Path) -> Path:
        """The composition PNG (tokens per stage by source, epochs per source) at `path`."""
        total = sum(st["tokens"] for st in self.stages)
        return composition_chart(self.stages, self.sources, path, f"{self.name} (planned): {total:,} tokens")


def plan_mixture(mixture: Mixture, registry: str | Path | None = None, *, spec_dir: str | Path | None = None,
                 spark=None, master: str | None = None, partitions: int | None = None) -> MixturePlan:
    """Plan `mixture` as `build_mixture` would, writing nothing.

    Example:
        p = plan_mixture(mixture, "registry"); p.stages[0]["sources"]["web"]["epochs"]
    """
    from dataforge.core.spark import get_spark
    from mixtures.build import resolve_inputs
    from mixtures.materialize import collect_docs, tokenize_sources
    from mixtures.plan import build_plan
    from mixtures.registry import registry_dir
    from mixtures.tokenizer import load_tokenizer_info

    spec_dir = Path(spec_dir).absolute() if spec_dir else None
    sources, _ = resolve_inputs(mixture, spec_dir, registry_dir(registry))
    tok = load_tokenizer_info(mixture.tokenizer)
    spark = spark or get_spark(master, app_name=f"forge-mix-plan-{mixture.name}")
    tokenized, bc = tokenize_sources(spark, sources, tok, mixture.append_eos, partitions)
    try:
        docs, quarantine = collect_docs(tokenized, sources)
    finally:
        tokenized.unpersist()
        bc.unpersist()
    plan = build_plan(mixture, docs)
    stages = [{k: s[k] for k in ("name", "tokens", "budget", "seq_len", "sft", "sources")} for s in plan.stages]
    srcs = {n: {"kind": docs[n].kind, **s} for n, s in plan.sources.items()}
    return MixturePlan(mixture.name, stages, srcs, len(quarantine), epoch_warnings(stages, srcs))


def plan_spec(spec_path: str | Path, registry: str | Path | None = None, **kwargs) -> MixturePlan:
    """Load the `mixture` of a spec file and plan it (what `forge mix plan` runs).

    Example:
        plan_spec("specs/mixture.py").warnings
    """
    from dataforge.core.specs import load_spec

    spec_path = Path(spec_path)
    mixture = load_spec(spec_path, "mixture", Mixture)
    return plan_mixture(mixture, registry, spec_dir=spec_path.absolute().parent, **kwargs)
