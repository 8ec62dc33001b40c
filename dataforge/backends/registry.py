"""Backend specs: a serializable description of a backend, built lazily where it is used.

Spark executors get the spec (a small pydantic object), not a model; `backend_for(spec)` builds the
backend once per Python worker process and hands the same instance to every later partition there.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from dataforge.backends.base import Backend
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json, stable_hash
from dataforge.core.secrets import reveal, wrap_secrets
from dataforge.core.spec import SpecModel

KINDS = ("transformers", "vllm", "openai")
# The keyword arguments each backend takes besides `model` and `batch_size` (kept in step with the
# constructors by a test), so a misspelt option fails when the spec is built, without importing torch.
OPTIONS = {
    "transformers": ("device", "dtype", "threads", "reasoning"),
    "vllm": ("dtype", "gpu_memory_utilization", "kv_cache_gb", "enforce_eager", "max_model_len",
             "tensor_parallel_size", "engine_args", "reasoning"),
    "openai": ("base_url", "api_key", "api_key_env", "headers", "concurrency", "max_retries", "timeout",
               "backoff", "max_backoff", "model_id", "json_schema"),
}


class BackendSpec(SpecModel):
    """Which backend to run and how.

    Args:
        kind: `transformers` (default, CPU or GPU), `vllm` (offline engine) or `openai` (HTTP server).
        model: `embedded`, a local HF folder, or (openai) the served model name.
        batch_size: prompts per backend call.
        options: backend-specific keyword arguments (device, dtype, base_url, concurrency, ...); see
            `OPTIONS`. Credentials (`api_key`, `headers={"Authorization": ...}`) become `Secret`s:
            they reach the server but never a manifest, cache key, log line or repr. Prefer
            `api_key_env="NAME"` (or $OPENAI_API_KEY) to a key written in the spec.
    Example:
        BackendSpec(kind="openai", model="smollm2", options={"base_url": "http://10.0.0.5:8000/v1",
                                                              "api_key_env": "FLEET_KEY"})
    """

    kind: Literal["transformers", "vllm", "openai"] = "transformers"
    model: str = "embedded"
    batch_size: int = Field(16, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _known_options(cls, options: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        kind = info.data.get("kind", "transformers")
        known = OPTIONS.get(kind, ())
        bad = sorted(k for k in options if k not in known)
        if bad:
            raise ValueError(f"unknown option {bad[0]!r} for the {kind} backend; "
                             f"known options: {', '.join(known)}")
        return wrap_secrets(options)

    def build(self) -> Backend:
        if self.kind == "transformers":
            from dataforge.backends.transformers import TransformersBackend as cls
        elif self.kind == "vllm":
            from dataforge.backends.vllm import VLLMBackend as cls
        else:
            from dataforge.backends.openai import OpenAIBackend as cls
        try:
            return cls(model=self.model, batch_size=self.batch_size, **self.options)
        except TypeError as e:
            raise ForgeError(f"backend {self.kind}: bad option in {sorted(self.options)}: {e}") from e


_LOCK = threading.Lock()
_PROCESS_BACKENDS: dict[str, Backend] = {}
_LOADS = {"count": 0}


def _process_key(spec: BackendSpec) -> str:
    # The JSON form hides secrets, so two specs differing only in their key would share a backend;
    # a digest of the revealed values tells them apart (in memory only: this key is never stored).
    secrets = [reveal(v) for v in _secret_values(spec.options)]
    return canonical_json(spec.model_dump(mode="json")) + (stable_hash(secrets) if secrets else "")


def _secret_values(obj: Any) -> list[Any]:
    from pydantic import SecretStr

    if isinstance(obj, SecretStr):
        return [obj]
    if isinstance(obj, dict):
        return [s for k in sorted(obj, key=str) for s in _secret_values(obj[k])]
    if isinstance(obj, (list, tuple)):
        return [s for v in obj for s in _secret_values(v)]
    return []


def backend_for(spec: BackendSpec) -> Backend:
    """The process-wide backend for `spec`: built on first use, then reused (one per executor process)."""
    key = _process_key(spec)
    with _LOCK:
        backend = _PROCESS_BACKENDS.get(key)
        if backend is None:
            backend = _PROCESS_BACKENDS[key] = spec.build()
            _LOADS["count"] += 1
        return backend


def backend_loads() -> int:
    """How many backends this process has built (a reused executor process reports the same count)."""
    return _LOADS["count"]


def release_backends() -> None:
    """Close and forget every process-wide backend (tests, and the end of a local run)."""
    with _LOCK:
        for b in _PROCESS_BACKENDS.values():
            b.close()
        _PROCESS_BACKENDS.clear()
