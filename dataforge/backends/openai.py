"""Any OpenAI-compatible server (a `vllm serve` fleet, a hosted API) over HTTP with httpx.

Requests run concurrently up to `concurrency`; 429 and 5xx replies, timeouts and dropped connections
are retried with exponential backoff (honouring `Retry-After`), and a server that cannot be reached
at all fails with one line naming the URL. Chats go to /chat/completions, raw strings to /completions.
The API key and any credential header are `Secret`s: sent to the server, shown nowhere else.
"""

from __future__ import annotations

import asyncio
import random
import threading
from typing import Any

from dataforge.backends.base import Backend, Completion, Prompt, Sampling, cut_at_stop
from dataforge.core.errors import ForgeError
from dataforge.core.secrets import Secret, redact_text, reveal, secret_from_env, wrap_secrets

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
# What to check when the server refuses a request outright (these are not retried).
HINTS = {401: "check the API key (api_key_env=NAME or $OPENAI_API_KEY)",
         403: "check the API key's permissions (api_key_env=NAME or $OPENAI_API_KEY)",
         404: "check the model name (--model) and that --base-url ends in /v1"}


class OpenAIBackend(Backend):
    """An OpenAI-compatible HTTP backend.

    Args:
        model: the served model name (sent as `model`).
        base_url: e.g. `http://127.0.0.1:8000/v1`.
        api_key: sent as a bearer token (a `Secret`; a plain string is wrapped). Prefer `api_key_env`.
        api_key_env: the environment variable holding the key (default: $OPENAI_API_KEY when set).
        headers: extra HTTP headers; credential headers (Authorization, X-Api-Key...) become Secrets.
        concurrency: requests in flight at once.
        max_retries: retries per request on 429, 5xx, timeouts and connection errors.
        timeout: seconds per request.
        backoff: first retry delay in seconds (doubles each retry, capped at `max_backoff`).
        model_id: the cache identity of the model (default `openai/<model>`); set it when two servers
            serve different weights under one name.
    Example:
        llm = OpenAIBackend("smollm2", base_url="http://127.0.0.1:8000/v1", concurrency=8)
    """

    kind = "openai"
    supports_json_schema = True

    def __init__(self, model: str, base_url: str = "http://127.0.0.1:8000/v1", *,
                 api_key: str | Secret | None = None, api_key_env: str | None = None,
                 headers: dict[str, str] | None = None, concurrency: int = 8, max_retries: int = 5,
                 timeout: float = 120.0, backoff: float = 0.5, max_backoff: float = 30.0,
                 batch_size: int = 64, model_id: str | None = None, json_schema: bool = True):
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            shown = redact_text(str(base_url))
            raise ForgeError(f"openai backend: base_url {shown!r} must start with http:// or https://")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.api_key = _api_key(api_key, api_key_env)
        self.headers = wrap_secrets(dict(headers or {}))
        self.concurrency, self.max_retries = max(1, concurrency), max(0, max_retries)
        self.timeout, self.backoff, self.max_backoff = timeout, backoff, max_backoff
        self.batch_size = max(1, batch_size)
        self.supports_json_schema = json_schema  # type: ignore[misc]
        self._model_id = model_id or f"openai/{model}"
        self.requests = 0  # HTTP requests sent, retries included

    @property
    def model_id(self) -> str:
        return self._model_id

    def __repr__(self) -> str:
        key = "<redacted>" if self.api_key else None
        url = redact_text(self.base_url)
        return f"OpenAIBackend(model={self.model!r}, base_url={url!r}, api_key={key!r})"

    def _body(self, prompt: Prompt, p: Sampling) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {"model": self.model, "max_tokens": p.max_tokens, "temperature": p.temperature,
                                "top_p": p.top_p, "seed": p.seed % (2**31)}
        if p.stop:
            body["stop"] = list(p.stop)
        if p.json_schema is not None and self.supports_json_schema:
            body["response_format"] = {"type": "json_schema",
                                       "json_schema": {"name": "output", "schema": p.json_schema}}
        if isinstance(prompt, str):
            return "/completions", {**body, "prompt": prompt}
        return "/chat/completions", {**body, "messages": prompt}

    async def _one(self, client, sem: asyncio.Semaphore, prompt: Prompt, p: Sampling) -> Completion:
        import httpx

        path, body = self._body(prompt, p)
        url = self.base_url + path
        shown = redact_text(url)  # what error lines name: no `user:pass@` or `?api_key=`
        last, hint = "", ""
        for attempt in range(self.max_retries + 1):
            delay = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
            async with sem:
                self.requests += 1
                try:
                    r = await client.post(url, json=body)
                except httpx.TimeoutException:
                    last = f"timed out after {self.timeout:g}s"
                    hint = "raise the backend's timeout option or lower concurrency"
                except httpx.TransportError as e:
                    last = f"cannot connect ({type(e).__name__}: {e or 'connection failed'})"
                    hint = "is the server running and reachable? (check --base-url)"
                else:
                    if r.status_code == 200:
                        return _completion(_json(r, shown), p, shown)
                    last = redact_text(f"HTTP {r.status_code}: {r.text[:200]!r}")
                    if r.status_code not in RETRY_STATUS:
                        hint = HINTS.get(r.status_code, "check the model name and the request options")
                        raise ForgeError(f"openai backend: {shown} answered {last}; {hint}")
                    hint = "the server kept failing: check its logs, lower concurrency or raise max_retries"
                    retry_after = r.headers.get("retry-after")
                    if retry_after and retry_after.replace(".", "", 1).isdigit():
                        delay = min(self.max_backoff, float(retry_after))
            if attempt < self.max_retries:
                await asyncio.sleep(delay)
        tries = self.max_retries + 1
        raise ForgeError(redact_text(f"openai backend: {shown}: {last} after {tries} attempts; {hint}"))

    async def _all(self, prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        import httpx

        headers = {k: reveal(v) for k, v in self.headers.items()}
        if self.api_key is not None and not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {reveal(self.api_key)}"
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, headers=headers, limits=limits) as client:
            sem = asyncio.Semaphore(self.concurrency)
            tasks = [asyncio.ensure_future(self._one(client, sem, q, p)) for q, p in zip(prompts, params, strict=True)]
            try:
                return list(await asyncio.gather(*tasks))
            finally:
                for t in tasks:
                    t.cancel()

    def _generate(self, prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._all(prompts, params))
        # Called from inside an event loop (a notebook): run on a private loop in a thread.
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["out"] = asyncio.run(self._all(prompts, params))
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                box["err"] = e

        t = threading.Thread(target=target)
        t.start()
        t.join()
        if "err" in box:
            raise box["err"]
        return box["out"]


def _api_key(api_key: str | Secret | None, api_key_env: str | None) -> Secret | None:
    if api_key is not None:
        return api_key if isinstance(api_key, Secret) else Secret(reveal(api_key))
    if api_key_env:
        key = secret_from_env(api_key_env)
        if key is None:
            raise ForgeError(f"openai backend: api_key_env names ${api_key_env}, which is not set; export it "
                             "where the driver and the executors run")
        return key
    return secret_from_env("OPENAI_API_KEY")


def _json(r, url: str) -> Any:
    try:
        return r.json()
    except ValueError as e:
        head = redact_text(r.text[:80])
        raise ForgeError(f"openai backend: {url} answered HTTP 200 with a body that is not JSON ({head!r}); "
                         "is --base-url an OpenAI-compatible server?") from e


def _completion(data: dict[str, Any], p: Sampling, url: str) -> Completion:
    try:
        choice = data["choices"][0]
        message = choice.get("message") or {}
        text = message["content"] if "message" in choice else choice["text"]
        # vLLM's reasoning parsers and DeepSeek-style APIs return the trace apart from the answer.
        reasoning = message.get("reasoning_content") or message.get("reasoning") or None
    except (KeyError, IndexError, TypeError) as e:
        raise ForgeError(f"openai backend: {url} returned no choices ({redact_text(str(data)[:120])}); "
                         "is it an OpenAI-compatible server?") from e
    text, stopped = cut_at_stop(text or "", p.stop)
    reason = "stop" if stopped or choice.get("finish_reason") == "stop" else "length"
    tokens = int((data.get("usage") or {}).get("completion_tokens") or 0)
    return Completion(text, reason, tokens, reasoning=reasoning if isinstance(reasoning, str) else None)
