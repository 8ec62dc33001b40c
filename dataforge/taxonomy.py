"""Taxonomy generation: expand a domain depth-first into k sub-domains per level, down to depth d.

Data-scarce domains get coverage by walking from many narrow leaves instead of one broad prompt.
Each expansion is one LLM call (a numbered list, or JSON-constrained with `structured=True`); junk
lines are discarded, siblings are deduplicated (case, punctuation and word-order insensitive, plus near-duplicates
by word overlap) and a short list is topped up with new seeds. Leaves become `Topic` seeds.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from dataforge.backends.base import Backend, Sampling
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.spec import SpecModel
from dataforge.nodes.parsing import ParseError, parse_json_object
from dataforge.structs import Struct

DEFAULT_PROMPT = ('What are {k} distinct subtopics of "{path}"? '
                  "Answer with a numbered list of short phrases.")
_LISTED = re.compile(r"^\s*(?:[-*•]|\d+[.)]|[a-z][.)])\s+")


class Topic(Struct):
    """A taxonomy leaf as a seed: `path` from the domain down, `text` the path joined with ' > '."""

    id: str
    text: str
    path: list[str]


def _norm(s: str) -> str:
    return " ".join(sorted(re.sub(r"[^\w\s]", " ", s.casefold()).split()))


def _near(a: str, b: str, threshold: float) -> bool:
    wa, wb = set(a.split()), set(b.split())
    return bool(wa and wb) and len(wa & wb) / len(wa | wb) >= threshold


def _clean(line: str) -> str:
    line = _LISTED.sub("", line).strip().strip("\"'*").strip()
    line = line.split(":")[0].split(" - ")[0].strip()  # "Sourdough: a starter..." keeps the head
    return line.rstrip(".;,")


def _plausible(topic: str) -> bool:
    """A short phrase of mostly letters with at least one real word (small models emit junk)."""
    letters = sum(ch.isalpha() or ch == " " for ch in topic)
    return 2 <= len(topic) <= 80 and letters >= 0.8 * len(topic) and bool(re.search(r"[^\W\d_]{3,}", topic))


def _listed_items(reply: str) -> list[str]:
    lines = [ln for ln in reply.splitlines() if ln.strip()]
    listed = [ln for ln in lines if _LISTED.match(ln)]
    return listed or lines  # prefer list items; chatty preambles are not topics


class Taxonomy(SpecModel):
    """A domain to expand into leaf topics; use it directly as a spec's `seeds`.

    Args:
        domain: the root (e.g. "organic chemistry").
        k: sub-domains per node.
        depth: levels below the root (leaves = k ** depth at most).
        similarity: word-overlap (Jaccard) at or above which two siblings count as duplicates.
        attempts: calls per node to collect k distinct children (each with a new seed).
    Example:
        seeds = Taxonomy(domain="bread baking", k=3, depth=2)
    """

    domain: str
    k: int = Field(4, ge=1, le=50)
    depth: int = Field(2, ge=1, le=6)
    similarity: float = Field(0.6, gt=0, le=1)
    attempts: int = Field(3, ge=1)
    prompt: str = DEFAULT_PROMPT
    sampling: Sampling = Sampling(max_tokens=96, temperature=0.7)
    structured: bool = False  # JSON-constrained replies (better with larger models than the embedded one)
    seed: int = 0

    def _ask(self, backend: Backend, path: list[str], attempt: int) -> list[str]:
        text = " > ".join(path)
        params = self.sampling.with_seed(int(stable_hash([self.seed, path, attempt], 15), 16))
        user = self.prompt.format(k=self.k, path=text)
        if self.structured and backend.supports_json_schema:
            schema = {"type": "object", "properties": {"subtopics": {
                "type": "array", "items": {"type": "string", "minLength": 2, "maxLength": 60},
                "minItems": self.k, "maxItems": self.k}}, "required": ["subtopics"]}
            reply = backend.generate([[{"role": "user", "content": user + ' Answer as JSON: {"subtopics": [...]}'}]],
                                     params.model_copy(update={"json_schema": schema}))[0].text
            try:
                items: list[Any] = parse_json_object(reply).get("subtopics", [])
            except ParseError:
                items = []
        else:
            reply = backend.generate([[{"role": "user", "content": user}]], params)[0].text
            items = _listed_items(reply)
        return [c for c in (_clean(str(x)) for x in items) if _plausible(c)]

    def children(self, backend: Backend, path: list[str]) -> list[str]:
        """Up to k distinct sub-domains of `path` (siblings deduplicated)."""
        kept: list[str] = []
        seen = [_norm(p) for p in path]
        for attempt in range(self.attempts):
            for c in self._ask(backend, path, attempt):
                n = _norm(c)
                if n and not any(n == s or _near(n, s, self.similarity) for s in seen):
                    kept.append(c)
                    seen.append(n)
            if len(kept) >= self.k:
                break
        return kept[:self.k]

    def expand(self, backend: Backend) -> list[Topic]:
        """Expand depth-first; returns the leaves in depth-first order (ids are hashes of their paths)."""
        leaves: list[Topic] = []

        def visit(path: list[str]) -> None:
            if len(path) - 1 == self.depth:
                leaves.append(Topic(id=stable_hash(path, 16), text=" > ".join(path), path=path))
                return
            kids = self.children(backend, path)
            if not kids:  # the model gave nothing usable: the node itself becomes a leaf
                leaves.append(Topic(id=stable_hash(path, 16), text=" > ".join(path), path=path))
            for kid in kids:
                visit([*path, kid])

        visit([self.domain.strip()])
        if not leaves:
            raise ForgeError(f"taxonomy {self.domain!r}: no leaves")
        return leaves
