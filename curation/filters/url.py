"""URL filtering from local block lists, with the rules and reasons of datatrove's `URLFilter`.

The lists are files the user provides (one entry a line, `#` comments), read on the driver when the
step is built and shipped inside it: nothing is downloaded at run time, neither datatrove's bundled
lists nor the public-suffix list (tldextract's packaged snapshot is used). A record is dropped when
its registered domain is listed (`domain`), its full host is listed (`subdomain`), its URL is listed
(`url`), a banned word is one of its words (`hard_blacklisted`), at least `soft_word_threshold`
soft-banned words are (`soft_blacklisted`), or a banned subword is in its letters-and-digits form
(`blacklisted_subword`). Words are normalized as datatrove normalizes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, PrivateAttr, model_validator

from curation.steps.base import Doc, Quarantine, RecordStep
from dataforge.core.hashing import sha256_bytes

_LISTS = ("domains", "urls", "banned_words", "banned_subwords", "soft_banned_words")


class URLFilter(RecordStep):
    """Drop records whose `metadata.url` a block list names.

    Args:
        domains, urls, banned_words, banned_subwords, soft_banned_words: local list files (None = empty).
        soft_word_threshold: how many soft-banned words in a URL drop it.
    Example:
        URLFilter(domains="lists/domains.txt", banned_words="lists/banned_words.txt")
    """

    domains: str | None = None
    urls: str | None = None
    banned_words: str | None = None
    banned_subwords: str | None = None
    soft_banned_words: str | None = None
    soft_word_threshold: int = Field(2, ge=1)
    sha256: dict[str, str] = Field(default_factory=dict)  # list name -> sha256 of its file, set when built
    # the lists' entries travel inside the step to executors; the manifest records their hashes only
    entries: dict[str, list[str]] = Field(default_factory=dict, exclude=True, repr=False)
    _tld: Any = PrivateAttr(None)
    _sets: dict[str, frozenset[str]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _read_lists(self) -> URLFilter:
        from datatrove.pipeline.filters.url_filter import parse_list

        from dataforge.core.errors import SpecError

        for name in _LISTS:
            path = getattr(self, name)
            if path is None:
                continue
            try:
                data = Path(path).read_bytes()
                lines = [ln for ln in data.decode("utf-8").splitlines() if ln.strip()]
            except (OSError, UnicodeDecodeError) as e:
                raise SpecError(f"URLFilter({name}={path!r}): cannot read the list ({type(e).__name__}); "
                                "pass a local UTF-8 file, one entry a line") from None
            # domains and URLs are matched as written, words in datatrove's normalized form
            self.entries[name] = sorted(parse_list(lines, do_normalize=name not in ("domains", "urls")))
            self.sha256[name] = sha256_bytes(data)
        return self

    def pins(self) -> dict[str, str]:
        return {getattr(self, k): v for k, v in self.sha256.items()}

    def open(self) -> None:
        from tldextract import TLDExtract

        # no suffix_list_urls: the packaged public-suffix snapshot, never a download from an executor
        self._tld = TLDExtract(suffix_list_urls=(), cache_dir=None)
        self._sets = {name: frozenset(self.entries.get(name, ())) for name in _LISTS}

    def judge(self, doc: Doc) -> str | None:
        from datatrove.pipeline.filters.url_filter import normalize, normalizer

        url = doc.metadata.get("url")
        if not isinstance(url, str) or not url:
            return Quarantine("no_url")
        s = self._sets
        info = self._tld(url)
        if info.top_domain_under_public_suffix in s["domains"]:
            return "domain"
        if info.fqdn in s["domains"]:
            return "subdomain"
        if url in s["urls"]:
            return "url"
        words = set(normalizer.split(url))
        if any(w in words for w in s["banned_words"]):
            return "hard_blacklisted"
        if sum(w in words for w in s["soft_banned_words"]) >= self.soft_word_threshold:
            return "soft_blacklisted"
        flat = normalize(url)
        if any(w in flat for w in s["banned_subwords"]):
            return "blacklisted_subword"
        return None
