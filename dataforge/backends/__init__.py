"""LLM backends behind one batched interface: transformers (default), vLLM, OpenAI-compatible HTTP."""

from dataforge.backends.base import Backend, Completion, Message, Prompt, Sampling
from dataforge.backends.registry import BackendSpec, backend_for, release_backends

__all__ = ["Backend", "BackendSpec", "Completion", "Message", "Prompt", "Sampling", "backend_for",
           "release_backends"]


def __getattr__(name: str):
    # Concrete backends import heavy packages (torch, vllm, httpx): load them on first use only.
    if name == "TransformersBackend":
        from dataforge.backends.transformers import TransformersBackend

        return TransformersBackend
    if name == "VLLMBackend":
        from dataforge.backends.vllm import VLLMBackend

        return VLLMBackend
    if name == "OpenAIBackend":
        from dataforge.backends.openai import OpenAIBackend

        return OpenAIBackend
    raise AttributeError(name)
