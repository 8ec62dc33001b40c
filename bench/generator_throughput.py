"""Walk-engine throughput vs the raw backend on the same prompts, backend and batch size.

    python bench/generator_throughput.py                          # transformers (CUDA if present), then vLLM
    python bench/generator_throughput.py --backend transformers   # one backend only
    python bench/generator_throughput.py --walks 256 --batch-size 32 --max-tokens 64 --repeats 3

Both sides generate the same prompts with the same per-call seeds and parameters (the raw side calls
`backend.generate` on prompts rendered exactly as the engine renders them), so the replies are
identical and the ratio isolates the engine's overhead: planning, lockstep scheduling, parsing,
contracts and lineage. Goal: ratio >= 0.95. The call cache is off on both sides. Run it on a quiet
machine; the best of `--repeats` alternating runs is reported.
"""

from __future__ import annotations

import argparse
import json
import time

from dataforge import Document, Graph, LLMNode, Sampling, Struct, generate
from dataforge.backends.registry import BackendSpec
from dataforge.backends.vllm import vllm_available
from dataforge.cache import CachedBackend
from dataforge.engine import EngineContext
from dataforge.summary import RunStats
from dataforge.walk import plan_walks

TOPICS = ["rivers", "volcanoes", "bread", "honeybees", "printing", "comets", "glaciers", "tides", "bridges",
          "lighthouses", "coral reefs", "windmills", "deserts", "owls", "chess", "silk"]


class Question(Struct):
    id: str
    text: str
    question: str


def build(max_tokens: int, walks: int) -> tuple[Graph, list[Document]]:
    node = LLMNode("ask", Document, Question, prompt="Write one quiz question about this: {{ text }}",
                   sampling=Sampling(max_tokens=max_tokens, temperature=0.7))
    seeds = [Document(id=f"d{i}", text=f"A short note on {TOPICS[i % len(TOPICS)]}, number {i}.")
             for i in range(walks)]
    return Graph("bench", Document, [node]), seeds


def raw_calls(graph: Graph, seeds: list[Document], backend, seed: int):
    """The exact prompts and per-call parameters the engine will send for these walks."""
    node = graph.nodes["ask"]
    ctx = EngineContext(CachedBackend(backend, None), seed, RunStats())
    plans = plan_walks(graph, [s.id for s in seeds], len(seeds), seed)
    by_id = {s.id: s for s in seeds}
    prompts = [node.render(by_id[p.seed_id]) for p in plans]
    params = [node.params(ctx).with_seed(ctx.call_seed(p.key, "ask", 0)) for p in plans]
    return prompts, params


def measure(kind: str, a: argparse.Namespace) -> dict:
    options = {"device": a.device} if kind == "transformers" else {"enforce_eager": True, "kv_cache_gb": 1}
    backend = BackendSpec(kind=kind, batch_size=a.batch_size, options=options).build()
    graph, seeds = build(a.max_tokens, a.walks)
    prompts, params = raw_calls(graph, seeds, backend, seed=0)
    backend.generate(prompts[: a.batch_size], params[: a.batch_size])  # load and warm up
    raw_best = eng_best = float("inf")
    for _ in range(a.repeats):  # alternate the two sides so drifting machine load hits both
        t = time.perf_counter()
        raw = backend.generate(prompts, params)
        raw_best = min(raw_best, time.perf_counter() - t)
        t = time.perf_counter()
        result = generate(graph, seeds, walks=a.walks, seed=0, backend=backend, use_cache=False)
        eng_best = min(eng_best, time.perf_counter() - t)
    engine_replies = sorted(json.loads(r["metadata"])["generator"]["steps"][0]["output"]["question"]
                            for r in result.records)
    tokens = sum(c.tokens for c in raw)
    report = {"backend": backend.model_id, "device": getattr(backend, "device", "vllm"), "walks": a.walks,
              "batch_size": a.batch_size, "max_tokens": a.max_tokens, "raw_s": round(raw_best, 3),
              "engine_s": round(eng_best, 3), "raw_tok_per_s": round(tokens / raw_best, 1),
              "engine_tok_per_s": round(tokens / eng_best, 1), "ratio": round(raw_best / eng_best, 3),
              "same_replies": engine_replies == sorted(c.text.strip() for c in raw if c.text.strip())}
    backend.close()
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="all", choices=["all", "transformers", "vllm"])
    ap.add_argument("--walks", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="auto")
    a = ap.parse_args()
    kinds = [a.backend] if a.backend != "all" else ["transformers"] + (["vllm"] if vllm_available() else [])
    for kind in kinds:
        report = measure(kind, a)
        print(json.dumps(report))
        print(f"{kind}: engine/raw throughput ratio {report['ratio']:.3f} (goal >= 0.95)", flush=True)


if __name__ == "__main__":
    main()
