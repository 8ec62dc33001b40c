"""The LLM call cache: every call is stored by content, so reruns and resumed runs skip finished calls.

A call's key is a hash of (model id, sampling parameters including the seed, prompt). Finished calls
live in a segment store per model, `ROOT/<model>/` (dataforge.core.segments): each writer (a Spark
task, a driver) appends to its own segment per key shard, flushing every call, so executors on many
machines share one directory (a shared mount) without locks, a killed run keeps every call it
finished, and the files grow with writers, not with calls. `forge generate` compacts the store at the
end of a run into one sorted file per shard. Two writers of one key store the same completion.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from dataforge.backends.base import Backend, Completion, Prompt, Sampling, as_params, prompt_text
from dataforge.core.hashing import stable_hash
from dataforge.core.models import cache_dir
from dataforge.core.secrets import redact_text
from dataforge.core.segments import SegmentStore

CACHE_FORMAT = 1  # of the key; the storage is the segment store's


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

    def __init__(self, root: str | Path | None = None, writer: str | None = None):
        self.root = Path(root).expanduser().absolute() if root else default_cache_root().absolute()
        self.writer = writer
        self._stores: dict[str, SegmentStore] = {}

    def _store(self, model_id: str) -> SegmentStore:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "_", redact_text(model_id))[:80]
        if slug not in self._stores:
            self._stores[slug] = SegmentStore(self.root / slug, writer=self.writer)
        return self._stores[slug]

    def get_many(self, model_id: str, keys: Sequence[str]) -> dict[str, Completion]:
        """The cached completions among `keys` (a missing or unreadable entry is a miss)."""
        out = {}
        for key, values in self._store(model_id).get_many(keys).items():
            try:
                raw = json.loads(values[0])
                out[key] = Completion(raw["text"], raw["finish_reason"], int(raw["tokens"]), cached=True,
                                      reasoning=raw.get("reasoning"))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def get(self, model_id: str, key: str) -> Completion | None:
        return self.get_many(model_id, [key]).get(key)

    def put(self, model_id: str, key: str, completion: Completion) -> None:
        self._store(model_id).put(key, json.dumps(completion.to_json(), ensure_ascii=False))

    def close(self) -> None:
        """Seal this writer's segments (a Spark task calls it when its partition is done)."""
        for store in self._stores.values():
            store.close()

    def _all_stores(self) -> list[SegmentStore]:
        if self.root.is_dir():
            for d in sorted(p for p in self.root.iterdir() if p.is_dir()):
                self._stores.setdefault(d.name, SegmentStore(d, writer=self.writer))
        return list(self._stores.values())

    def compact(self, shard: str | None = None) -> int:
        """Merge sealed segments into one sorted file per shard (all shards, or `shard`) and model;
        returns how many segments were merged."""
        stores = self._all_stores()
        if shard is None:
            return sum(store.compact_all() for store in stores)
        return sum(store.compact(shard) for store in stores)

    def count(self) -> int:
        """Stored calls (all models)."""
        return sum(len({k for k, _ in store.entries()}) for store in self._all_stores())

    def files(self) -> int:
        """Files the cache holds (all models)."""
        return sum(len(store.files()) for store in self._all_stores())


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
        found = self.cache.get_many(model, keys)
        hit_idx, hit_done, miss = [], [], []
        for i, k in enumerate(keys):
            c = found.get(k)
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
