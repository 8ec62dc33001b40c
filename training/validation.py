"""Validation: loss on each source's held-out slice, which is how users judge a mixture."""

from __future__ import annotations

from training.distributed import all_sum
from training.loader import validation_rows
from training.masking import model_inputs


def source_names(mx) -> list[str]:
    """Every source of the mixture, in a stable order."""
    return sorted((mx.manifest.extra.get("sources") or {}).keys())


def evaluate(trainer, stage: int) -> dict[str, float]:
    """Token-mean loss per source at the current stage's sequence length (all ranks take part).

    Args:
        trainer: the running `Trainer` (engine, mixture, world, spec).
        stage: the stage whose sequence length the held-out pieces are packed to.
    """
    import torch

    w, engine, run = trainer.world, trainer.engine, trainer.run
    seq_len = int(trainer.mx.stages[stage].seq_len)
    out: dict[str, float] = {}
    engine.eval()
    with torch.no_grad():
        for source in source_names(trainer.mx):
            micro = validation_rows(trainer.mx.validation(source), seq_len, run.deepspeed.micro_batch_size,
                                    w.size, w.rank, run.eval_max_pieces)
            total, count = 0.0, 0
            for rows in micro:
                labels = torch.as_tensor(rows.labels, device=w.device)
                s, n = engine(labels=labels, **model_inputs(rows, trainer.attention, w.device))
                total += float(s)
                count += n
            total, count = all_sum([total, float(count)], w.device)
            if count:
                out[source] = total / count
    engine.train()
    return out
