"""Backend specs: a serializable description of a backend, built lazily where it is used.

Spark executors get the spec (a small pydantic object), not a model; `backend_for(spec)` builds the
backend once per Python worker process and hands the same instance to every later partition there.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dataforge.backends.base import Backend
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json

KINDS = ("transformers", "vllm", "openai")


class BackendSpec(BaseModel):
    """Which backend to run and how.

    Args:
        kind: `transformers` (default, CPU or GPU), `vllm` (offline engine) or `openai` (HTTP server).
        model: `embedded`, a local HF folder, or (openai) the served model name.
        batch_size: prompts per backend call.
        options: backend-specific keyword arguments (device, dtype, base_url, concurrency, ...).
    Example:
        BackendSpec(kind="openai", model="smollm2", options={"base_url": "http://10.0.0.5:8000/v1"})
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["transformers", "vllm", "openai"] = "transformers"
    model: str = "embedded"
    batch_size: int = Field(16, ge=1)
    options: dict[str, Any] = Field(default_factory=dict)

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


def backend_for(spec: BackendSpec) -> Backend:
    """The process-wide backend for `spec`: built on first use, then reused (one per executor process)."""
    key = canonical_json(spec.model_dump(mode="json"))
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
