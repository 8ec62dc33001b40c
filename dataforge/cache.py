"""The LLM call cache: every call is stored by content, so reruns and resumed runs skip finished calls.

A call's key is a hash of (model id, sampling parameters including the seed, prompt). Each finished
call is one small JSON file `ROOT/<model>/<k[:2]>/<k>.json`, written atomically (temp file + rename),
so executors on many machines can share one directory (a shared mount) without locks: two writers
of the same key write the same content, and a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from dataforge.backends.base import Backend, Completion, Prompt, Sampling, as_params, prompt_text
from dataforge.core.commit import atomic_write_text
from dataforge.core.hashing import stable_hash
from dataforge.core.models import cache_dir
from dataforge.core.secrets import redact_text

CACHE_FORMAT = 1


def default_cache_root() -> Path:
    """`DATAFORGE_CALL_CACHE`, else `<DATAFORGE_CACHE or ~/.cache/dataforge>/calls`."""
    raw = os.environ.get("DATAFORGE_CALL_CACHE")
    return Path(raw).expanduser() if raw else cache_dir() / "calls"


def call_key(model_id: str, prompt: Prompt, params: Sampling) -> str:
    """The call's cache key. Credentials never enter it: the backend's key is not part of a call, and a
    model id that carries one (`http://user:pass@host/...`) is redacted, so rotating a key keeps the cache."""
    return stable_hash({"v": CACHE_FORMAT, "model": redact_text(model_id),
                        "params": params.model_dump(mode="json"), "prompt": prompt_text(prompt)}, 40)


class CallCache:
    """A directory of finished calls.

    Args:
        root: the directory (created on first write); executors must all see the same path.
    Example:
        cache = CallCache("/shared/forge-cache"); llm = CachedBackend(TransformersBackend(), cache)
    """

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root).expanduser().absolute() if root else default_cache_root().absolute()

    def _path(self, model_id: str, key: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", redact_text(model_id))[:80]
        return self.root / slug / key[:2] / f"{key}.json"

    def get(self, model_id: str, key: str) -> Completion | None:
        try:
            raw = json.loads(self._path(model_id, key).read_text("utf-8"))
            return Completion(raw["text"], raw["finish_reason"], int(raw["tokens"]), cached=True,
                              reasoning=raw.get("reasoning"))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing, or unreadable (treated as missing and rewritten)

    def put(self, model_id: str, key: str, completion: Completion) -> None:
        atomic_write_text(self._path(model_id, key), json.dumps(completion.to_json(), ensure_ascii=False))

    def count(self) -> int:
        """Stored calls (all models)."""
        return sum(1 for _ in self.root.glob("*/*/*.json")) if self.root.is_dir() else 0


class CachedBackend(Backend):
    """Wraps a backend: cached calls are answered from the cache, the rest go to the backend in batches.

    `calls` counts calls sent to the model, `batches` the sub-batches they went in, and `hits` the
    calls answered from the cache, in this process.
    """

    def __init__(self, inner: Backend, cache: CallCache | None):
        self.inner, self.cache = inner, cache
        self.batch_size = inner.batch_size
        self.calls = self.hits = self.batches = 0

    kind = "cached"

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    @property
    def supports_json_schema(self) -> bool:  # type: ignore[override]
        return self.inner.supports_json_schema

    def stream(self, prompts: Sequence[Prompt], params: Sampling | Sequence[Sampling]
               ) -> Iterator[tuple[list[int], list[Completion]]]:
        prompts = list(prompts)
        params = as_params(params, len(prompts))
        if self.cache is None:
            for idx, done in self.inner.stream(prompts, params):
                self.calls += len(idx)
                self.batches += 1
                yield idx, done
            return
        model = self.model_id
        keys = [call_key(model, p, s) for p, s in zip(prompts, params, strict=True)]
        hit_idx, hit_done, miss = [], [], []
        for i, k in enumerate(keys):
            c = self.cache.get(model, k)
            if c is None:
                miss.append(i)
            else:
                hit_idx.append(i)
                hit_done.append(c)
        self.hits += len(hit_idx)
        if hit_idx:
            yield hit_idx, hit_done
        if not miss:
            return
        for sub_idx, done in self.inner.stream([prompts[i] for i in miss], [params[i] for i in miss]):
            idx = [miss[j] for j in sub_idx]
            for i, c in zip(idx, done, strict=True):
                self.cache.put(model, keys[i], c)
            self.calls += len(idx)
            self.batches += 1
            yield idx, done

    def _generate(self, prompts: list[Prompt], params: list[Sampling]) -> list[Completion]:
        return self.generate(prompts, params)

    def close(self) -> None:
        self.inner.close()
