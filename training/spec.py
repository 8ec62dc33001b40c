"""The run spec: a Python module assigns `run = Run(...)`; `forge train spec.py` loads and runs it.

Everything the data decides (stage boundaries, sequence lengths, which tokens carry loss) comes from
the mixture, so the spec names the mixture and never repeats its numbers: the schedule's phase
boundaries are derived from the mixture's stage token budgets.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dataforge.core.errors import SpecError
from dataforge.core.spec import check_name
from training.evals import GenEval
from training.init import StartFrom
from training.modelcheck import check_fields
from training.optim import NO_DECAY, LrShape, StageOptim
from training.specbase import _Spec
from training.tracking import Reporter, check_report_to


class Model(_Spec):
    """The model: an HF config built from scratch, or a local HF checkpoint to continue from.

    Args:
        config: HF config fields with a `model_type` (`llama`, `qwen2`, `qwen3`, ...); `vocab_size`
            defaults to the mixture tokenizer's size.
        checkpoint: a local HF folder (continued pretraining, SFT); nothing is fetched from a hub.
        attention: `auto` picks varlen flash attention on GPU when installed, else SDPA with a
            block-diagonal mask (always on CPU); `flex_attention` builds the document mask as a
            torch BlockMask from the position ids (compiled; worth trying on GPUs without flash-attn).
        loss_chunk_tokens: tokens per cross-entropy chunk; the full logits tensor is never built.
        gradient_checkpointing: recompute activations in backward to save memory.
    Example:
        Model(config={"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2,
                      "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128})
    """

    config: dict[str, Any] | None = None
    checkpoint: str | None = None
    attention: Literal["auto", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention"] = "auto"
    loss_chunk_tokens: int = Field(8192, ge=64)
    gradient_checkpointing: bool = False
    WHERE: ClassVar[str] = "run.model"

    @model_validator(mode="after")
    def _one_source(self) -> Model:
        if (self.config is None) == (self.checkpoint is None):
            raise ValueError("give exactly one of `config` (from scratch) or `checkpoint` (local HF folder)")
        if self.config is not None:
            if "model_type" not in self.config:
                raise ValueError("config needs a `model_type` such as 'llama' or 'qwen2'")
            check_fields(self.config)
        return self


class Optimizer(_Spec):
    """AdamW. `lr` is the peak learning rate the schedule scales.

    Example:
        Optimizer(lr=3e-4, weight_decay=0.1)
    """

    lr: float = Field(3e-4, gt=0, allow_inf_nan=False)  # no upper bound: a diverging run stops at its first
    # non-finite loss or gradient norm with a line naming the step and this lr
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = Field(1e-8, gt=0, allow_inf_nan=False)
    weight_decay: float = Field(0.1, ge=0, allow_inf_nan=False)
    no_decay: tuple[Literal["embeddings", "norms", "biases"], ...] = NO_DECAY  # left out of weight decay
    WHERE: ClassVar[str] = "run.optimizer"

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: tuple[float, float]) -> tuple[float, float]:
        for b in v:
            if not (math.isfinite(b) and 0 <= b < 1):
                raise ValueError(f"each must be >= 0 and < 1 (got {v})")
        return v


class Schedule(LrShape):
    """Learning-rate schedule over the stages without their own `stage_optim`; its phase boundaries
    are the mixture's stage boundaries.

    Args:
        kind: `wsd` (warmup, stable, decay over `decay_stages`), or a shape over all those stages:
            `cosine`, `linear`, `constant`, `multi_step` (plateaus of `fractions` at `levels`).
        warmup: fraction of the first such stage's tokens spent warming up linearly from 0.
        decay_stages: WSD only: the stages the learning rate decays over (default: the last stage).
        min_lr_ratio: the final learning rate as a fraction of the peak.
    Example:
        Schedule(kind="wsd", warmup=0.05, decay_stages=["decay"])
    """

    kind: Literal["wsd", "cosine", "linear", "constant", "multi_step"] = "wsd"
    warmup: float = Field(0.05, ge=0, lt=1)
    decay_stages: list[str] | None = None
    WHERE: ClassVar[str] = "run.schedule"

    @model_validator(mode="after")
    def _decay_for_wsd(self) -> Schedule:
        if self.kind != "wsd" and self.decay_stages:
            raise ValueError("decay_stages: only a WSD schedule has decay stages")
        return self


class DeepSpeed(_Spec):
    """The DeepSpeed side: ZeRO stage, batch shape, precision and clipping.

    Args:
        zero_stage: 0-3.
        micro_batch_size: packed sequences per rank per micro-step.
        grad_accum: micro-steps per optimizer step. The global batch is
            micro_batch_size x grad_accum x world size packed sequences.
        grad_clip: max global gradient norm (0 disables).
        precision: `auto` is bf16 on GPU and fp32 on CPU.
        config: extra DeepSpeed config merged over the generated one (offload, comms, ...).
    Example:
        DeepSpeed(zero_stage=2, micro_batch_size=4, grad_accum=8)
    """

    zero_stage: int = Field(0, ge=0, le=3)
    micro_batch_size: int = Field(1, ge=1)
    grad_accum: int = Field(1, ge=1)
    grad_clip: float = Field(1.0, ge=0, allow_inf_nan=False)
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    config: dict[str, Any] = Field(default_factory=dict)
    WHERE: ClassVar[str] = "run.deepspeed"

    @field_validator("config")
    @classmethod
    def _not_owned(cls, v: dict[str, Any]) -> dict[str, Any]:
        from training.dspaths import check_owned_keys

        check_owned_keys(v)
        return v


class DPO(_Spec):
    """The objective of a preference stage (a mixture stage of preference pairs), as TRL defines it.

    Args:
        loss_type: `sigmoid` (DPO), `ipo` (on per-token average log-ratios) or `apo_zero` (APO-zero).
        beta: the strength of the pull towards the reference (the model at the start of the stage).
    Example:
        DPO(loss_type="apo_zero", beta=0.1)
    """

    loss_type: Literal["sigmoid", "ipo", "apo_zero"] = "sigmoid"
    beta: float = Field(0.1, gt=0, allow_inf_nan=False)
    WHERE: ClassVar[str] = "run.dpo"


class Run(_Spec):
    """A training run on one mixture version.

    Args:
        name: the run's name; the default output dir is `runs/<name>`.
        mixture: a mixture id (looked up in `registry`) or a mixture directory.
        registry: the mixture registry directory (None: the mixtures layer's default).
        model, deepspeed, optimizer, schedule: see their classes.
        eval_every: steps between validation passes on each source's held-out slice (0: only at the end).
        eval_max_pieces: held-out pieces per source used by a validation pass.
        save_every: steps between checkpoints (0: only at the end).
        keep_checkpoints: checkpoints kept on disk (older ones are removed).
        rope_theta: per-stage RoPE base, by stage name (context extension); stages not named keep
            the model's own.
        dpo: the DPO settings of preference stages, by stage name; a preference stage not named uses
            `DPO()`. A stage of preference pairs always trains with the DPO objective.
        pack_lookahead: packing window, in global batches; more fills rows better, less keeps the
            mixture's order closer.
        peak_tflops: the accelerator's dense peak for MFU (None: known GPUs, none on CPU).
        seed: model initialization seed.
        stage_optim: per-stage optimization by stage name (lr, warmup, shape, floor, weight decay,
            optimizer reset); a stage named here takes its learning rate from these settings only.
        report_to: trackers besides metrics.jsonl and loss.png: `tensorboard` (default), `wandb`
            (offline unless WANDB_MODE says otherwise; needs the wandb package), or "none".
        evals: generation-based evaluations on held-out prompt sets, run with the validation loss.
        start_from: start from another run's checkpoint or exported model (weights, optionally
            the optimizer state) instead of the model's own initialization.
    Example:
        run = Run(name="tiny", mixture="3f2a...", model=Model(config={...}), eval_every=50)
    """

    name: str = "run"
    mixture: str
    registry: str | None = None
    model: Model
    deepspeed: DeepSpeed = Field(default_factory=DeepSpeed)
    optimizer: Optimizer = Field(default_factory=Optimizer)
    schedule: Schedule = Field(default_factory=Schedule)
    eval_every: int = Field(0, ge=0)  # 0: validation only at the end of the run
    eval_max_pieces: int = Field(64, ge=1)
    save_every: int = Field(0, ge=0)  # 0: checkpoint only at the end of the run
    keep_checkpoints: int = Field(2, ge=1)
    rope_theta: dict[str, float] = Field(default_factory=dict)
    dpo: dict[str, DPO] = Field(default_factory=dict)
    pack_lookahead: float = Field(2.0, ge=1.0, le=16.0)
    peak_tflops: float | None = Field(None, gt=0, allow_inf_nan=False)
    seed: int = 0
    stage_optim: dict[str, StageOptim] = Field(default_factory=dict)
    report_to: list[Reporter] = Field(default_factory=lambda: ["tensorboard"])
    evals: list[GenEval] = Field(default_factory=list)
    start_from: StartFrom | None = None

    @field_validator("report_to", mode="before")
    @classmethod
    def _report_to(cls, v: Any) -> Any:
        return check_report_to(v)

    @field_validator("evals")
    @classmethod
    def _unique_evals(cls, v: list[GenEval]) -> list[GenEval]:
        names = [e.name for e in v]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"eval names must be unique; repeated: {', '.join(dup)}")
        return v

    @field_validator("name")
    @classmethod
    def _safe_name(cls, v: str) -> str:
        return check_name(v, "run name")

    @field_validator("rope_theta")
    @classmethod
    def _positive_theta(cls, v: dict[str, float]) -> dict[str, float]:
        for stage, theta in v.items():
            if not (math.isfinite(theta) and theta >= 1):  # below 1 the rotary frequencies blow up
                raise ValueError(f"stage {stage!r}: must be a finite number >= 1 (got {theta})")
        return v

    def check_against(self, stage_names: list[str]) -> None:
        """Refuse stage names the mixture does not have (rope_theta and stage_optim keys, WSD decay
        stages) and a stage that would train at a zero learning rate without being asked to."""
        known = ", ".join(stage_names)
        for field, names in (("rope_theta", list(self.rope_theta)), ("stage_optim", list(self.stage_optim)),
                             ("dpo", list(self.dpo)),
                             ("schedule.decay_stages", list(self.schedule.decay_stages or []))):
            for n in names:
                if n not in stage_names:
                    raise SpecError(f"run.{field}: unknown stage {n!r}; the mixture's stages are: {known}")
        for n in self.schedule.decay_stages or []:
            if n in self.stage_optim:
                raise SpecError(f"run.schedule.decay_stages: stage {n!r} has its own run.stage_optim; "
                                "decay it there (kind='linear', 'cosine' or 'wsd') or leave it out of one")
        decay = sorted(stage_names.index(n) for n in (self.schedule.decay_stages or []))
        if decay and decay != list(range(decay[0], decay[-1] + 1)):
            raise SpecError("run.schedule.decay_stages: the decay stages must follow each other in the mixture")
        covered = [n for n in stage_names if n not in self.stage_optim]
        if self.schedule.kind == "wsd" and covered and self.schedule.min_lr_ratio == 0.0:
            last = stage_names.index((self.schedule.decay_stages or [covered[-1]])[-1])
            after = [n for n in covered if stage_names.index(n) > last]
            if after:
                raise SpecError(f"run.stage_optim: stage {after[0]!r} comes after the WSD decay and would "
                                "train at min_lr_ratio=0.0; give it its own settings, e.g. stage_optim="
                                f"{{{after[0]!r}: StageOptim(lr=1e-5)}}, or set run.schedule.min_lr_ratio")
