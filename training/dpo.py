"""The DPO objective of a preference stage: TRL's sigmoid, IPO and APO-zero losses on packed pairs.

A preference stage's rows hold whole pairs (training/loader.py): pair j of a row is its segments
2j + 1 (chosen) and 2j + 2 (rejected), packed with intra-document masking like every other row. The
policy's log-probability of each sequence is the sum over its labelled tokens (the answer: the mixture's
mask covers completion tokens only); the reference's comes from the model as it was when the stage
started, a frozen copy kept beside the engine and saved once as `reference/<stage>.safetensors` in the
run dir, so a resumed run scores against the same reference. Losses are summed per pair and normalized
by the global batch's pairs (TRL's per-batch mean), so ranks and micro-batches weigh every pair alike.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from dataforge.core.errors import SpecError
from training.masking import IGNORE
from training.objective import PackedCausalLM
from training.spec import DPO

METRICS = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


def dpo_loss(chosen: torch.Tensor, rejected: torch.Tensor, ref_chosen: torch.Tensor, ref_rejected: torch.Tensor,
             beta: float, loss_type: str, chosen_tokens: torch.Tensor | None = None,
             rejected_tokens: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-pair losses and (chosen, rejected) rewards from summed sequence log-probabilities, as TRL's
    DPOTrainer computes them. `ipo` needs the completion token counts (it averages the log-ratios)."""
    chosen_ratio, rejected_ratio = chosen - ref_chosen, rejected - ref_rejected
    if loss_type == "sigmoid":
        losses = -F.logsigmoid(beta * (chosen_ratio - rejected_ratio))
    elif loss_type == "ipo":
        delta = chosen_ratio / chosen_tokens.clamp(min=1.0) - rejected_ratio / rejected_tokens.clamp(min=1.0)
        losses = (delta - 1 / (2 * beta)) ** 2
    elif loss_type == "apo_zero":
        losses = (1 - torch.sigmoid(beta * chosen_ratio)) + torch.sigmoid(beta * rejected_ratio)
    else:
        raise ValueError(f"unknown DPO loss_type {loss_type!r}")
    return losses, beta * chosen_ratio.detach(), beta * rejected_ratio.detach()


def pair_index(segments: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Flat sequence ids (row * width + segment) of every pair's chosen and rejected sequence, and width."""
    width = int(segments.max(initial=0)) + 1
    chosen = [r * width + s for r, row in enumerate(segments) for s in range(1, int(row.max(initial=0)) + 1, 2)]
    chosen = np.asarray(chosen, dtype=np.int64)
    return chosen, chosen + 1, width


def sequence_sums(token_values: torch.Tensor, labels: torch.Tensor, segments: torch.Tensor,
                  width: int) -> torch.Tensor:
    """Sum per-labelled-token values (row-major order) into their sequences (row * width + segment)."""
    keep = labels.reshape(-1) != IGNORE
    rows = torch.arange(labels.shape[0], device=labels.device).repeat_interleave(labels.shape[1])
    seq = rows[keep] * width + segments.reshape(-1)[keep].long()
    out = token_values.new_zeros(labels.shape[0] * width)
    return out.index_add(0, seq, token_values)


class DPOObjective:
    """The DPO side of a trainer: the reference model of the current preference stage and the pair loss.

    Args:
        run: the run spec (`run.dpo` holds per-stage settings).
        stages: the mixture's stage views (`pairs` marks a preference stage).
        out: the run dir (the reference weights go to `reference/<stage>.safetensors`).
    Example:
        obj = DPOObjective(run, mx.stages, out); obj.enter(trainer, stage); s, stats = obj.micro_loss(...)
    """

    def __init__(self, run, stages, out: Path):
        self.settings = {st.name: run.dpo.get(st.name, DPO()) for st in stages if getattr(st, "pairs", False)}
        for name in run.dpo:
            if name not in self.settings:
                raise SpecError(f"run.dpo: stage {name!r} holds no preference pairs; name a preference stage")
        if self.settings and run.deepspeed.zero_stage == 3:
            raise SpecError("run.deepspeed.zero_stage: a DPO stage keeps a frozen reference copy of the model, "
                            "which needs zero_stage <= 2")
        self.names = [st.name for st in stages]
        self.out = Path(out)
        self.stage, self.reference = -1, None

    def enter(self, wrapper: PackedCausalLM, stage: int, is_main: bool) -> None:
        """At a preference stage's first step (or a resume inside it): freeze the reference."""
        if stage == self.stage:
            return
        self.stage, self.reference = stage, None
        name = self.names[stage]
        if name not in self.settings:
            return
        from safetensors.torch import load_model, save_model

        model = copy.deepcopy(wrapper.model).eval().requires_grad_(False)
        path = self.out / "reference" / f"{name}.safetensors"
        if path.is_file():  # a resumed run: the model as it was when the stage first started
            load_model(model, str(path), device=str(next(model.parameters()).device))
        elif is_main:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            save_model(model, str(tmp))
            os.replace(tmp, path)
        self.reference = PackedCausalLM(model, chunk_tokens=wrapper.chunk_tokens)

    def micro_loss(self, engine, rows, labels: torch.Tensor, inputs: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """(summed pair losses of one micro-batch, [losses, chosen rewards, rejected rewards, accuracy, pairs]
        summed). A micro-batch without pairs returns a zero that still touches every weight."""
        chosen_ix, rejected_ix, width = pair_index(rows.segments)
        if len(chosen_ix) == 0:
            s, _ = engine(labels=labels, **inputs)
            return s * 0.0, s.new_zeros(5, dtype=torch.float64)
        cfg = self.settings[self.names[self.stage]]
        segments = inputs["position_ids"].new_tensor(rows.segments)
        policy, _ = engine(labels=labels, per_token=True, **inputs)
        with torch.no_grad():
            ref, _ = self.reference(labels=labels, per_token=True, **inputs)
        logps = sequence_sums(policy, labels, segments, width)
        ref_logps = sequence_sums(ref.to(policy.dtype), labels, segments, width)
        counts = sequence_sums(torch.ones_like(policy), labels, segments, width)
        c, r = (torch.as_tensor(ix, device=labels.device) for ix in (chosen_ix, rejected_ix))
        losses, chosen_reward, rejected_reward = dpo_loss(
            logps[c], logps[r], ref_logps[c], ref_logps[r], cfg.beta, cfg.loss_type, counts[c], counts[r])
        stats = torch.stack([losses.detach().sum(), chosen_reward.sum(), rejected_reward.sum(),
                             (chosen_reward > rejected_reward).float().sum(),
                             losses.new_tensor(float(len(c)))]).to(torch.float64)
        return losses.sum(), stats


def metrics(stats: list[float]) -> dict[str, float]:
    """The per-step record fields of a DPO stage from globally summed stats (TRL's names)."""
    _, chosen, rejected, correct, n = stats
    n = max(n, 1.0)
    return {"rewards/chosen": chosen / n, "rewards/rejected": rejected / n, "rewards/margins": (chosen - rejected) / n,
            "rewards/accuracies": correct / n}
