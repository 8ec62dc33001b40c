"""Benchmark: how the driver's work grows with the input (1x, 4x, 16x), for generate, the call cache,
mix build and a trainer's start-up (opening its mixture, and the time to its first training step).

    python bench/scale.py [--base 2000] [--only mix,mix1,open,loader,parquet,first_step] [--repeat 3]

Each measurement runs in a fresh Python process on Spark local[2]; driver figures are the Python
driver process's own CPU seconds and peak RSS (in local mode the JVM also runs the executors, so it
is left out). Goals (issue "Scale out"): driver CPU and peak RSS grow at most 1.3x when the input
grows 16x; cache files grow with writers, not calls; time to open a mixture already verified on this
machine, and a trainer's time to its first step, grow at most 1.3x. `loader` times the trainer's data
path before step 1 (open the mixture, pack the piece lengths, assemble step 1's batch: training/loader.py),
`parquet` what format 3's open read instead of mapping index.npy (the whole index.parquet, for comparison);
`mix1` the same build as `mix` on Spark local[1] (the 16x size's local[1] / local[2] wall ratio is printed;
goal >= 1.7); `first_step` the real trainer (training/engine.py Trainer with DeepSpeed on CPU and a tiny Llama, torch and
DeepSpeed imported before the clock starts) from its construction through step 1.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHAT = ("generate", "cache", "mix", "mix1", "open", "loader", "parquet", "first_step")
QUICK = ("open", "loader", "parquet", "first_step")  # repeated --repeat times, the fastest kept

GEN_SPEC = """
from dataforge import Document, FunctionNode, Graph, Struct

class Shout(Struct):
    id: str
    text: str

graph = Graph("shout", Document, [FunctionNode("shout", Document, Shout, lambda d: {"text": d.text.upper()})])
seeds = "seeds"
"""

WORKER = textwrap.dedent("""
    import json, resource, sys, time
    from pathlib import Path
    what, root, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    t0 = time.perf_counter()
    extra = {}
    if what == "generate":
        from dataforge.core.spark import get_spark
        from dataforge.job import GenerateOptions, run_generate
        get_spark("local[2]", app_name="bench-scale")
        t0 = time.perf_counter()
        m, _ = run_generate(root / "shout.py", root / f"gen-{n}", GenerateOptions(partitions=4, use_cache=False))
        extra = {"records": m.counts["records"]}
    elif what == "cache":
        from dataforge.backends.base import Completion
        from dataforge.cache import CallCache, call_key
        from dataforge.backends.base import Sampling
        for w in range(4):  # four tasks writing their share of the calls
            cache = CallCache(root / f"cache-{n}", writer=f"task{w}")
            for i in range(w, n, 4):
                cache.put("model", call_key("model", f"prompt {i}", Sampling(seed=i)), Completion(f"reply {i}", "stop", 3))
            cache.close()
        c = CallCache(root / f"cache-{n}")
        before = c.files()
        c.compact()
        extra = {"calls": n, "files_before_compaction": before, "files": c.files()}
    elif what in ("mix", "mix1"):  # mix1: the same build on local[1]
        from dataforge.core.spark import get_spark
        from mixtures import Mixture, Source, Stage, build_mixture
        get_spark("local[1]" if what == "mix1" else "local[2]", app_name="bench-scale")
        t0 = time.perf_counter()
        src = Source("web", path=str(root / f"docs-{n}"), holdout_docs=0)
        m = Mixture(name="scale", tokenizer="embedded", seed=0,
                    stages=[Stage("s", tokens=n * 20, seq_len=256, weights={src: 1.0})])
        r = build_mixture(m, root / ("registry" if what == "mix" else "registry1"))
        extra = {"id": r.id, "writers": len(r.writers)}
        if what == "mix":
            (root / f"mix-{n}.id").write_text(r.id)
    elif what == "open":
        from mixtures import open_mixture
        mid = (root / f"mix-{n}.id").read_text()
        open_mixture(mid, root / "registry")  # first open on this machine: hashes in full
        t1 = time.perf_counter()
        mx = open_mixture(mid, root / "registry")
        extra = {"first_open_s": round(t1 - t0, 3), "pieces": len(mx.stages[0])}
        t0 = t1
    elif what == "loader":  # the trainer's data path before step 1: open, pack the lengths, step 1's batch
        from mixtures import open_mixture
        from training.loader import MixtureLoader
        t0, c0 = time.perf_counter(), time.process_time()
        mx = open_mixture((root / f"mix-{n}.id").read_text(), root / "registry")
        batch = MixtureLoader(mx, micro_batch_size=2, grad_accum=1).next_batch()
        extra = {"pieces": len(mx.stages[0]), "step_tokens": batch.plan.tokens, "timed_cpu_s": time.process_time() - c0}
    elif what == "parquet":  # for comparison: reading the stage's whole index.parquet, as format 3's open did
        import pyarrow.parquet as pq
        mid = (root / f"mix-{n}.id").read_text()
        t0 = time.perf_counter()
        pq.read_table(root / "registry" / mid / "stages" / "00-s" / "index.parquet")
    elif what == "first_step":  # the real trainer (DeepSpeed on CPU, a tiny Llama) up to its first step
        import deepspeed, torch, transformers  # imported before the clock: their cost is not the mixture's
        from training import DeepSpeed, Model, Optimizer, Run
        from training.engine import Trainer
        run = Run(name="scale", mixture=(root / f"mix-{n}.id").read_text(), registry=str(root / "registry"),
                  model=Model(config={"model_type": "llama", "hidden_size": 32, "intermediate_size": 64,
                                      "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
                                      "head_dim": 32, "tie_word_embeddings": True}),
                  deepspeed=DeepSpeed(zero_stage=1, micro_batch_size=2, grad_accum=1), optimizer=Optimizer(lr=1e-3))
        t0, c0 = time.perf_counter(), time.process_time()
        trainer = Trainer(run, root / f"run-{n}-{time.time_ns()}", max_steps=1)
        trainer._build()
        _, record = trainer.step_once(1)
        trainer.claim.release(ok=False)
        extra = {"loss": round(record["loss"], 3), "data_time_s": round(record["data_time_s"], 4),
                 "timed_cpu_s": time.process_time() - c0}
    wall = time.perf_counter() - t0
    u = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"wall_s": wall, "cpu_s": u.ru_utime + u.ru_stime, "rss_mb": u.ru_maxrss / 1024, **extra}))
""")


def make_inputs(root: Path, n: int) -> None:
    words = "data model token stage mixture shard curated web math proof lemma train loss batch".split()
    seeds = root / "seeds"
    seeds.mkdir(exist_ok=True)
    docs = root / f"docs-{n}"
    docs.mkdir()
    for f in range(4):
        with open(seeds / f"part-{n}-{f}.jsonl", "w", encoding="utf-8") as s, \
                open(docs / f"part-{f}.jsonl", "w", encoding="utf-8") as d:
            for i in range(f, n, 4):
                text = " ".join(words[(i * 7 + j) % len(words)] for j in range(30))
                s.write(json.dumps({"id": f"s{n}-{i}", "text": text}) + "\n")
                d.write(json.dumps({"id": f"d{n}-{i}", "text": text}) + "\n")


def run(what: str, root: Path, n: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), DS_ACCELERATOR="cpu", OMP_NUM_THREADS="1",
               TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run([sys.executable, "-c", WORKER, what, str(root), str(n)], cwd=REPO, capture_output=True,
                          text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"{what} at {n}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=int, default=2000, help="documents / seeds / calls at 1x")
    ap.add_argument("--only", default=",".join(WHAT), help=f"comma-separated subset of {','.join(WHAT)} "
                    "(open, loader, parquet and first_step need mix)")
    ap.add_argument("--repeat", type=int, default=3, help=f"runs of {', '.join(QUICK)} per size (the fastest "
                    "is kept: the start-up figures are short and a shared machine's load swings them)")
    a = ap.parse_args()
    todo = [w for w in WHAT if w in a.only.split(",")]
    sizes = [a.base, 4 * a.base, 16 * a.base]
    with tempfile.TemporaryDirectory() as d:
        results: dict[str, dict[int, dict]] = {}
        for n in sizes:
            root = Path(d) / f"x{n}"
            root.mkdir()
            (root / "shout.py").write_text(GEN_SPEC)
            make_inputs(root, n)
            for what in todo:
                if what == "first_step" and n == sizes[0]:
                    run(what, root, n)  # untimed: a machine's first DeepSpeed start builds its CPU ops (cached)
                t = time.perf_counter()
                tries = [run(what, root, n) for _ in range(a.repeat if what in QUICK else 1)]
                results.setdefault(what, {})[n] = min(tries, key=lambda r: r["wall_s"])
                print(f"{what:9s} {n:>7d}: {results[what][n]} ({time.perf_counter() - t:.0f} s)", flush=True)
    print("\nratio 16x / 1x (goal <= 1.3 for driver CPU and RSS; cache files grow with writers):")
    lo, hi = sizes[0], sizes[-1]
    for what, by in results.items():
        r = {k: by[hi][k] / by[lo][k] for k in ("cpu_s", "rss_mb", "wall_s") if by[lo].get(k)}
        files = f", files {by[lo].get('files')} -> {by[hi].get('files')}" if "files" in by[lo] else ""
        print(f"  {what:9s} driver cpu {r['cpu_s']:.2f}x, driver rss {r['rss_mb']:.2f}x, wall {r['wall_s']:.2f}x{files}")
    if "mix" in results and "mix1" in results:
        one, two = results["mix1"][hi]["wall_s"], results["mix"][hi]["wall_s"]
        print(f"  mix build at {hi}: local[1] {one:.1f} s, local[2] {two:.1f} s: {one / two:.2f}x faster on two "
              "cores (goal >= 1.7)")
    for what in ("loader", "first_step"):
        if what in results:
            r = {k: (results[what][lo][k], results[what][hi][k]) for k in ("wall_s", "timed_cpu_s")}
            print(f"  time to the first training step ({what}): wall {r['wall_s'][0]:.3f} s -> {r['wall_s'][1]:.3f} s, "
                  f"{r['wall_s'][1] / r['wall_s'][0]:.2f}x; its CPU {r['timed_cpu_s'][0]:.3f} s -> "
                  f"{r['timed_cpu_s'][1]:.3f} s, {r['timed_cpu_s'][1] / r['timed_cpu_s'][0]:.2f}x (goal <= 1.3)")
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"(workers' total CPU {u.ru_utime + u.ru_stime:.0f} s)")


if __name__ == "__main__":
    main()
