"""The training loop: mixture stages in order, packed batches, stage-aligned learning rate, DeepSpeed.

    forge train examples/train/tiny_llama.py --max-steps 20 --out runs/tiny
    deepspeed --num_gpus 8 jobs/train.py spec.py --out /shared/runs/x

The run dir holds `run.json` (the resolved run), `metrics.jsonl`, `checkpoints/`, `loss.png`,
`tensorboard/` (event files), `model/` (the final HF model) and, once the run is complete,
`manifest.json` (kind "run").
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dataforge.core.commit import atomic_write_json
from dataforge.core.errors import ForgeError, SpecError
from training import checkpoint as ckpt
from training import init as start
from training.distributed import World, all_sum, init_world
from training.dsconfig import grad_norm, initialize, precision, user_config
from training.evals import last_scores, load_prompts, run_evals
from training.failure import watch
from training.guard import check_step
from training.loader import Batch, MixtureLoader
from training.masking import model_inputs
from training.metrics import MetricsLog, mfu, peak_tflops, stage_ends
from training.model import build_config, build_model, count_params, pick_attention, rope_theta, set_rope_theta
from training.objective import PackedCausalLM
from training.optim import apply_hparams, reset_state
from training.plan import run_schedule
from training.plot import plot_loss
from training.progress import StepProgress
from training.runinfo import claim_run_dir
from training.spec import Run
from training.tracking import Tracker, check_installed
from training.validation import evaluate


@dataclass
class TrainResult:
    """What a finished (or stopped) run reports: where it is, how far it got, loss per stage end."""

    out: Path
    mixture_id: str
    steps: int
    complete: bool
    stage_losses: list[dict[str, Any]] = field(default_factory=list)
    model_dir: Path | None = None


def open_run_mixture(run: Run):
    from mixtures import open_mixture

    return open_mixture(run.mixture, registry=run.registry)


class Trainer:
    """Train `run` into `out`. Every rank constructs one; rank 0 writes the run dir.

    Args:
        run: the spec.
        out: the run dir.
        max_steps: stop after this global step (None: train through every stage).
        resume: continue from the latest checkpoint in `out`.
        overwrite: replace the run `out` holds (deleted once this one ends well).
    Example:
        Trainer(load_spec("train.py", "run", Run), Path("runs/x")).fit()
    """

    def __init__(self, run: Run, out: Path, max_steps: int | None = None, resume: bool = False,
                 spec_path: str | None = None, overwrite: bool = False):
        self.run, self.out, self.max_steps = run, Path(out).absolute(), max_steps
        # Everything that can refuse the run is checked before DeepSpeed and the model load.
        self.mx = open_run_mixture(run)
        self.stage_names = [s.name for s in self.mx.stages]
        main = int(os.environ.get("RANK", "0")) == 0
        self.claim = claim_run_dir(self.out, resume=resume, overwrite=overwrite, is_main=main)
        self.claim.check_inputs([self.mx.path])
        self.client = None if overwrite else ckpt.check_resume(self.out, self.mx.id, resume)
        run.check_against(self.stage_names)
        # where the weights come from (another run's checkpoint or model), as the first start saw it
        self.source = start.recorded(self.out) if self.client else start.resolve(run, self.out)
        if self.source and not self.client:
            self.claim.check_inputs([Path(self.source["run"])])
        check_installed(run.report_to)
        self.eval_sets = {e.name: load_prompts(e) for e in run.evals}
        self._check_before_start(spec_path)
        if main:  # only rank 0 locks (and writes) the run dir; released when fit() ends
            self.claim.acquire()
        try:
            self.world: World = init_world()
        except BaseException:
            self.claim.release(ok=False)
            raise
        if self.world.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
        self.spec_path = spec_path

    def _check_before_start(self, spec_path: str | None) -> None:
        """The model's shape against the tokenizer and the mixture, and the DeepSpeed config's paths:
        refused in one line naming the field before any process group, engine or model exists."""
        from transformers import AutoTokenizer

        self.vocab = len(AutoTokenizer.from_pretrained(str(self.mx.tokenizer_path)))
        self.max_len = max(int(s.seq_len) for s in self.mx.stages)
        from training.dpo import DPOObjective

        try:
            build_config(self.run.model, self.vocab, self.max_len)
            user_config(self.run, self.out)
            self.dpo = DPOObjective(self.run, self.mx.stages, self.out)
        except SpecError as e:
            raise SpecError(f"{spec_path}: {e}" if spec_path else str(e)) from None

    def _build(self) -> None:
        run, w = self.run, self.world
        if w.size > 1:  # another rank's failure ends this one too, even while it waits in a collective
            watch(w.rank)
        self.attention = pick_attention(run.model.attention, w.device_type)
        model = build_model(run.model, self.vocab, self.max_len, self.attention, run.seed)
        if start.loads(self.source, "model") and not self.client:
            start.load_exported(model, self.source)
        self.base_theta = rope_theta(model.config)
        self.params = count_params(model)
        self.shape = (int(model.config.num_hidden_layers), int(model.config.hidden_size))
        self.wrapper = PackedCausalLM(model, chunk_tokens=run.model.loss_chunk_tokens)
        self.engine, self.optimizer = initialize(self.wrapper, run, w.device_type, self.out)
        self.loader = MixtureLoader(self.mx, run.deepspeed.micro_batch_size, run.deepspeed.grad_accum,
                                    world=w.size, rank=w.rank, lookahead=run.pack_lookahead)
        self.schedule = run_schedule(run, self.stage_names, self.loader.stage_totals)
        self.opt_stage: int | None = None  # the stage whose optimizer settings are in effect
        self.eval_tokenizer = None
        if run.evals:
            from transformers import AutoTokenizer

            self.eval_tokenizer = AutoTokenizer.from_pretrained(str(self.mx.tokenizer_path))
        self.metrics = MetricsLog(self.out / "metrics.jsonl")
        self.peak = peak_tflops(_device_name(w.device), run.peak_tflops)
        self.manual_norm = run.deepspeed.zero_stage == 0 and precision(run, w.device_type) == "fp32"
        self.theta_stage = -1

    def _apply_stage(self, stage: int) -> None:
        """Per-stage RoPE base: set when the loader enters a stage (or a resume lands in one)."""
        if stage == self.theta_stage:
            return
        theta = self.run.rope_theta.get(self.stage_names[stage], self.base_theta)
        if theta is not None and theta != rope_theta(self.wrapper.model.config):
            set_rope_theta(self.wrapper.model, theta)
        self.theta_stage = stage

    def _resume(self) -> int:
        import torch

        client = ckpt.load(self.engine, self.out, ckpt.tag_for(self.client["step"]))
        if client["mixture_id"] != self.mx.id:  # client.json was checked; this is DeepSpeed's own copy
            raise ForgeError(f"{self.out}: checkpoint step {client['step']} holds mixture {client['mixture_id']}, "
                             f"not {self.mx.id}; resume with the same mixture or start a new run")
        self.loader.load_state_dict(client["loader"])
        torch.set_rng_state(torch.tensor(client["rng"], dtype=torch.uint8))
        self.opt_stage = client.get("opt_stage")
        if self.world.is_main:
            self.metrics.truncate_after(client["step"])
        return int(client["step"])

    def _write_run_json(self) -> None:
        if not self.world.is_main:
            return
        atomic_write_json(self.out / "run.json", {
            "run": self.run.model_dump(mode="json"), "spec_path": self.spec_path, "mixture_id": self.mx.id,
            "mixture_path": str(self.mx.path), "world_size": self.world.size, "attention": self.attention,
            "rows": self.loader.packer.rows, "micro_batches": self.loader.micro_batches,
            "grad_accum": self.run.deepspeed.grad_accum, "micro_batch_size": self.run.deepspeed.micro_batch_size,
            "lookahead": self.run.pack_lookahead, "params": self.params,
            "dpo": {n: d.model_dump(mode="json") for n, d in self.dpo.settings.items()},
            "stages": [{"name": n, "tokens": t, "seq_len": int(s.seq_len), "sft": bool(s.sft)}
                       for n, t, s in zip(self.stage_names, self.loader.stage_totals, self.mx.stages, strict=True)],
            "schedule_boundaries_tokens": self.schedule.boundaries(), "start_from": self.source})

    def _train_step(self, batch: Batch) -> dict[str, Any]:
        engine, w = self.engine, self.world
        # the middle of this step's tokens (the loader state already counts them)
        lr = self.schedule.lr(batch.plan.stage, self.loader.state.stage_tokens - batch.plan.tokens / 2)
        own = self.run.stage_optim.get(batch.stage_name)
        reset = batch.plan.stage != self.opt_stage and own is not None and own.reset_optimizer
        if reset:
            reset_state(self.optimizer)
        self.opt_stage = batch.plan.stage
        wd = own.weight_decay if own is not None and own.weight_decay is not None else self.run.optimizer.weight_decay
        apply_hparams(self.optimizer, lr, wd)
        import torch

        loss_sum = torch.zeros((), dtype=torch.float64, device=w.device)  # summed on device: one sync per step
        # a preference stage's loss is a mean over the global batch's pairs (training/dpo.py)
        per = batch.pairs if batch.pairs else batch.loss_tokens
        pair_stats = torch.zeros(5, dtype=torch.float64, device=w.device)
        for i, rows in enumerate(batch.micro):
            inputs = model_inputs(rows, self.attention, w.device)
            labels = torch.as_tensor(rows.labels, device=w.device)
            if batch.pairs:
                s, stats = self.dpo.micro_loss(engine, rows, labels, inputs)
                pair_stats += stats
            else:
                s, _ = engine(labels=labels, **inputs)
            # Normalize by the global batch's labelled tokens (or pairs); DeepSpeed averages gradients
            # over ranks, so scaling by the world size makes every token weigh the same everywhere.
            engine.backward(s * (w.size / max(per, 1)), scale_wrt_gas=False)
            norm = grad_norm(engine) if self.manual_norm and i == len(batch.micro) - 1 else None
            engine.step()
            loss_sum += s.detach().to(torch.float64)
        if not self.manual_norm:
            norm = engine.get_global_grad_norm()
            norm = float(norm) if norm is not None else None
        # a non-finite norm on any rank is summed in the same all-reduce as the loss: all ranks see it
        bad = loss_sum.new_tensor(0.0 if norm is None or math.isfinite(norm) else 1.0)
        total, bad_ranks, *pairs = all_sum(torch.cat([torch.stack([loss_sum, bad]), pair_stats]), w.device)
        out = {"loss": total / max(per, 1), "lr": lr, "grad_norm": norm, "norm_bad": bad_ranks > 0}
        if batch.pairs:
            from training.dpo import metrics

            out.update(metrics(pairs))
        return {**out, "optimizer_reset": True} if reset else out

    def step_once(self, step: int) -> tuple[Batch, dict[str, Any]] | None:
        """Train global step `step` (1-based); returns its batch and metrics record, None at the end."""
        w = self.world
        t0 = time.perf_counter()
        batch = self.loader.next_batch()
        if batch is None:
            return None
        data_s = time.perf_counter() - t0
        self._apply_stage(batch.plan.stage)
        self.dpo.enter(self.wrapper, batch.plan.stage, w.is_main)
        self.engine.train()
        out = self._train_step(batch)
        check_step(step, batch.stage_name, out["loss"], out["grad_norm"], out.pop("norm_bad"), out["lr"],
                   self.run.optimizer.lr)
        dt = time.perf_counter() - t0
        tps = batch.plan.tokens / dt
        return batch, {
            "step": step, "stage": batch.stage_name, **out, "tokens": batch.plan.tokens,
            "loss_tokens": batch.loss_tokens, "padding": round(batch.padding_fraction, 6),
            "tokens_per_s": tps, "step_time_s": dt, "data_time_s": data_s,
            "mfu": mfu(tps, self.params, *self.shape, batch.plan.seq_len, w.size, self.peak),
            "tokens_by_source": dict(sorted(self.loader.tokens_by_source.items()))}

    def fit(self) -> TrainResult:
        """Train through every stage (or to `max_steps`), then checkpoint, export and plot."""
        try:
            result = self._fit()
        except BaseException:
            if getattr(self, "tracker", None) is not None:
                self.tracker.close()
            self.claim.release(ok=False)
            raise
        self.claim.release(ok=True)  # also deletes the run an --overwrite replaced
        return result

    def _fit(self) -> TrainResult:
        self._build()
        run, w = self.run, self.world
        step = self._resume() if self.client else 0
        if not self.client:
            if start.loads(self.source, "checkpoint"):
                start.load_checkpoint(self.engine, self.source)
            if w.is_main:
                self.metrics.truncate_after(-1)
        self._write_run_json()
        from dataforge.core.secrets import redact

        self.tracker = Tracker(run.report_to, self.out, run.name, redact(run.model_dump(mode="json")),
                               resume_step=step if self.client else None, enabled=w.is_main)
        last_saved = step
        progress = StepProgress(sum(self.loader.stage_totals), enabled=w.is_main)
        progress.advance_to(sum(self.loader.stage_totals[:self.loader.state.stage]) + self.loader.state.stage_tokens)
        with progress:
            while self.max_steps is None or step < self.max_steps:
                done = self.step_once(step + 1)
                if done is None:
                    break
                batch, record = done
                step += 1
                last = self._finished_stage() or step == self.max_steps
                if (run.eval_every and step % run.eval_every == 0) or last:
                    record["val_loss"] = evaluate(self, batch.plan.stage)
                    if run.evals:
                        record["evals"] = run_evals(self)
                if w.is_main:
                    self.metrics.write(record)
                    self.tracker.log(record)
                progress.update(step, batch.stage_name, record["loss"], batch.plan.tokens)
                if run.save_every and step % run.save_every == 0:
                    self._save(step)
                    last_saved = step
        complete = self.loader.packer.done or self._peek_done()
        if step != last_saved or (step and ckpt.latest_tag(self.out) is None):
            self._save(step)
        return self._finish(step, complete)

    def _finished_stage(self) -> bool:
        s, lengths = self.loader.state, self.loader.lengths
        return s.stage < len(lengths) and s.next_piece >= len(lengths[s.stage]) and not s.pending

    def _peek_done(self) -> bool:
        s, n = self.loader.state, len(self.loader.lengths)
        return s.stage >= n or (s.stage == n - 1 and self._finished_stage())

    def _save(self, step: int) -> None:
        import torch

        client = {"step": step, "mixture_id": self.mx.id, "loader": self.loader.state_dict(),
                  "rng": torch.get_rng_state().tolist(), "world_size": self.world.size,
                  "opt_stage": self.opt_stage}
        ckpt.save(self.engine, self.out, step, client, self.world.rank, self.run.keep_checkpoints)

    def _finish(self, step: int, complete: bool) -> TrainResult:
        w = self.world
        model_dir = ckpt.export_hf(self.engine, self.wrapper, self.out / "model", self.mx.tokenizer_path,
                                   self.run.deepspeed.zero_stage, w.rank, w.device)
        self.tracker.close()
        records = self.metrics.read() if w.is_main else []
        ends = stage_ends(records)
        if w.is_main and records:
            plot_loss(records, self.out / "loss.png", title=f"{self.run.name} on mixture {self.mx.id[:12]}")
            from training.runinfo import write_run_manifest

            write_run_manifest(self.out, self.run, self.mx.id, step, complete, ends, source=self.source,
                               evals=last_scores(records))
        return TrainResult(out=self.out, mixture_id=self.mx.id, steps=step, complete=complete,
                         stage_losses=ends, model_dir=model_dir)


def _device_name(device: str) -> str | None:
    import torch

    return torch.cuda.get_device_name(device) if device.startswith("cuda") else None
