"""Step time of the trainer vs a plain PyTorch loop on the same model and the same packed batches.

    python bench/training_step.py                         # CPU; builds a small mixture of real text first
    python bench/training_step.py --mixture ID --registry DIR
    python bench/training_step.py --gpu --mixture DIR     # one GPU: 1.1B Llama, seq 4096, bf16

CPU (always): a small Llama, fp32, DeepSpeed on its CPU accelerator. Steps alternate between the
trainer (`Trainer.step_once`: loader, stage, learning rate, DeepSpeed forward/backward/step, metrics
record) and a plain loop (model forward with the same block-diagonal mask, cross-entropy, backward,
clip, torch AdamW) fed the very batches the trainer's loader produced; it prints the median step
times and their ratio (goal: trainer <= 1.10 x plain).

GPU (`--gpu`, when CUDA is present): the 1.1B Llama of the issue (hidden 2048, 22 layers, 32 heads,
4 KV heads, intermediate 5632), sequence length 4096, bf16, through the trainer on real mixture
batches: tokens/s, MFU = (6 x params + 12 x layers x hidden x seq_len) FLOPs per token over
989 TFLOP/s, and the share of step time spent in the loader (goal <= 2%). The mixture needs a stage
with seq_len 4096; build it where Spark runs (`--build-only --seq-len 4096`) and carry the registry
entry to the GPU machine. The model's vocabulary is the mixture tokenizer's (49152 for the embedded
SmolLM2 tokenizer, vs 32000 in the issue's reference); params are counted as built, so MFU stays exact.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LLAMA_1B = {"model_type": "llama", "hidden_size": 2048, "intermediate_size": 5632, "num_hidden_layers": 22,
            "num_attention_heads": 32, "num_key_value_heads": 4, "rope_theta": 10000.0}
CPU_MODEL = {"model_type": "llama", "hidden_size": 256, "intermediate_size": 768, "num_hidden_layers": 4,
             "num_attention_heads": 8, "num_key_value_heads": 4, "tie_word_embeddings": True}


def stdlib_corpus(root: Path, max_docs: int = 600) -> Path:
    """Real text for the bench: the Python standard library's own source files, one record each."""
    from dataforge.core import Manifest, TextRecord
    from dataforge.core.io import write_table
    from dataforge.core.records import TEXT_SCHEMA

    lib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in lib.glob("*.py"))[:max_docs]
    rows = [TextRecord(p.read_text(errors="replace"), id=p.name, source="stdlib").to_row() for p in files]
    out = root / "stdlib"
    write_table(rows, out / "data" / "part-00000.parquet", TEXT_SCHEMA)
    Manifest.build(out, "corpus", {"made_by": "bench/training_step.py"}, counts={"records": len(rows)}).write(out)
    return out


def build_bench_mixture(registry: Path, seq_len: int, tokens: int) -> str:
    from dataforge.core.models import embedded_llm_dir
    from mixtures import Mixture, Source, Stage, build_mixture

    data = stdlib_corpus(Path(tempfile.mkdtemp(prefix="bench-corpus-")))
    src = Source("stdlib", path=str(data), holdout_docs=8)
    mixture = Mixture(name=f"bench-{seq_len}", tokenizer=str(embedded_llm_dir()), seed=0,
                      stages=[Stage("main", tokens=tokens, seq_len=seq_len, weights={src: 1.0})])
    return build_mixture(mixture, registry).id


def make_trainer(mixture: str, registry: str | None, model: dict, mbs: int, out: Path, zero: int = 0,
                 attention: str = "auto", loss_chunk: int = 8192):
    from training import DeepSpeed, Model, Optimizer, Run, Schedule, Trainer

    run = Run(name="bench", mixture=mixture, registry=registry,
              model=Model(config=model, attention=attention, loss_chunk_tokens=loss_chunk),
              deepspeed=DeepSpeed(zero_stage=zero, micro_batch_size=mbs, grad_accum=1, grad_clip=1.0),
              optimizer=Optimizer(lr=1e-4), schedule=Schedule(kind="wsd", warmup=0.0))
    trainer = Trainer(run, out)
    trainer._build()
    return trainer


def plain_loop(trainer, seed: int):
    """The same architecture and init, trained by hand: forward, CE, backward, clip, AdamW."""
    import torch
    import torch.nn.functional as F

    from training.masking import model_inputs
    from training.model import build_model

    run = trainer.run
    model = build_model(run.model, trainer.wrapper.model.config.vocab_size, 4096, trainer.attention, seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=run.optimizer.lr, betas=run.optimizer.betas,
                            weight_decay=run.optimizer.weight_decay)

    def step(batch) -> None:
        n = max(batch.loss_tokens, 1)
        for rows in batch.micro:
            logits = model(**model_inputs(rows, trainer.attention, "cpu")).logits
            labels = torch.as_tensor(rows.labels)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1),
                                   ignore_index=-100, reduction="sum") / n
            loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), run.deepspeed.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)

    return step


def bench_cpu(args) -> None:
    import torch

    torch.manual_seed(0)
    registry, mixture = args.registry, args.mixture
    if mixture is None:
        registry = registry or tempfile.mkdtemp(prefix="bench-registry-")
        print(f"building a bench mixture of stdlib text in {registry} ...", flush=True)
        mixture = build_bench_mixture(Path(registry), seq_len=args.seq_len, tokens=args.seq_len * 4 * 80)
    trainer = make_trainer(mixture, registry, CPU_MODEL, mbs=4, out=Path(tempfile.mkdtemp(prefix="bench-run-")))
    plain = plain_loop(trainer, seed=trainer.run.seed)
    t_trainer, t_plain = [], []
    for step in range(1, args.warmup + args.steps + 1):
        t0 = time.perf_counter()
        done = trainer.step_once(step)
        t1 = time.perf_counter()
        if done is None:
            break
        plain(done[0])
        t2 = time.perf_counter()
        if step > args.warmup:
            t_trainer.append(t1 - t0)
            t_plain.append(t2 - t1)
    a, b = statistics.median(t_trainer), statistics.median(t_plain)
    print(f"cpu  model={sum(p.numel() for p in trainer.wrapper.parameters()) / 1e6:.1f}M params  "
          f"rows=4x{trainer.mx.stages[0].seq_len}  steps={len(t_trainer)}  threads={torch.get_num_threads()}")
    print(f"trainer step  {a * 1000:8.1f} ms (median)")
    print(f"plain loop    {b * 1000:8.1f} ms (median)")
    print(f"ratio trainer/plain = {a / b:.3f}  (goal <= 1.10)")


def bench_gpu(args) -> None:
    import torch

    from training.metrics import flops_per_token

    if not torch.cuda.is_available():
        print("--gpu: no CUDA device here; skipped")
        return
    if args.mixture is None:
        sys.exit("--gpu needs --mixture (a mixture with a seq_len 4096 stage; see --build-only)")
    trainer = make_trainer(args.mixture, args.registry, LLAMA_1B, mbs=args.micro_batch,
                           out=Path(tempfile.mkdtemp(prefix="bench-run-")), zero=args.zero,
                           attention=args.attention, loss_chunk=args.loss_chunk)
    seq = trainer.mx.stages[0].seq_len
    records = []
    for step in range(1, args.warmup + args.steps + 1):
        done = trainer.step_once(step)
        if done is None:
            break
        if step > args.warmup:
            records.append(done[1])
    step_s = statistics.median(r["step_time_s"] for r in records)
    tokens = statistics.median(r["tokens"] for r in records)
    data_s = statistics.median(r["data_time_s"] for r in records)
    tps = tokens / step_s
    fpt = flops_per_token(trainer.params, *trainer.shape, seq)
    print(f"gpu  {torch.cuda.get_device_name()}  params={trainer.params / 1e9:.3f}B  seq={seq}  "
          f"micro_batch={args.micro_batch}  zero={args.zero}  attention={trainer.attention}")
    print(f"tokens/s = {tps:,.0f}   MFU = {tps * fpt / 989e12:.1%}   loader share = {data_s / step_s:.2%}   "
          f"padding = {statistics.median(r['padding'] for r in records):.2%}   "
          f"peak mem = {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mixture", help="mixture id or dir (default: build one from stdlib text)")
    ap.add_argument("--registry", help="mixture registry dir")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--seq-len", type=int, default=256, help="CPU bench / --build-only sequence length")
    ap.add_argument("--gpu", action="store_true", help="run the 1.1B GPU bench (needs CUDA)")
    ap.add_argument("--micro-batch", type=int, default=4)
    ap.add_argument("--zero", type=int, default=0)
    ap.add_argument("--attention", default="auto")
    ap.add_argument("--loss-chunk", type=int, default=8192)
    ap.add_argument("--build-only", action="store_true", help="build the bench mixture and print its id")
    args = ap.parse_args()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.build_only:
        registry = Path(args.registry or "registry")
        tokens = args.seq_len * args.micro_batch * (args.steps + args.warmup + 2)
        print(build_bench_mixture(registry, args.seq_len, tokens))
        return
    if args.gpu:
        bench_gpu(args)
    else:
        bench_cpu(args)


if __name__ == "__main__":
    main()
