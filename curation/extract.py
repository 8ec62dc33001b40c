"""Main text out of HTML records (from WARC input): trafilatura as datatrove runs it, or resiliparse.

The trafilatura call uses the settings of datatrove's `Trafilatura` extractor (favour precision, no
comments, trafilatura's deduplication, no images), so a page gives the same text here as in a
datatrove pipeline. Two differences, both for determinism: trafilatura's duplicate cache is cleared
before each page (it otherwise remembers paragraphs across pages, so a page's text would depend on
which pages the same process saw before it; `cross_page_dedup=True` keeps datatrove's behaviour), and
the timeout is a timer signal in the executor rather
than datatrove's extraction subprocess.

A page that takes longer than `timeout` seconds is quarantined (`extract_timeout`), one the extractor
fails on `extract_error`; a page without main text is dropped (`no_main_text`). WET records (plain
text already) pass through unchanged.
"""

from __future__ import annotations

import signal
import threading
from typing import Any, Literal

from pydantic import Field

from curation.steps.base import Doc, Quarantine, RecordStep


class _Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Timeout


def trafilatura_text(html: str, favour_precision: bool = True, deduplicate: bool = True, cross_page: bool = False,
                     **kwargs: Any) -> str:
    """datatrove's `Trafilatura.extract` call; trafilatura's duplicate cache is emptied first unless `cross_page`."""
    from trafilatura import extract
    from trafilatura.deduplication import LRU_TEST

    if not cross_page:
        LRU_TEST.clear()
    return extract(html, favor_precision=favour_precision, include_comments=False, deduplicate=deduplicate,
                   **kwargs) or ""


def resiliparse_text(html: str) -> str:
    from resiliparse.extract.html2text import extract_plain_text

    return extract_plain_text(html, main_content=True).strip()


class ExtractText(RecordStep):
    """Replace each HTML record's text by its main text.

    Args:
        engine: "trafilatura" (datatrove's settings) or "resiliparse" (faster; `pip install resiliparse`).
        timeout: seconds per page before it is quarantined as `extract_timeout`; 0 disables.
        favour_precision: trafilatura's favor_precision (less text, more of it main text).
        deduplicate: trafilatura's deduplication of repeated paragraphs.
        cross_page_dedup: keep trafilatura's duplicate cache from page to page, as datatrove does: a
            paragraph seen on more than two earlier pages of the same partition is then left out, so the
            text depends on partitioning (off by default: same input, same bytes).
    Example:
        ExtractText(engine="trafilatura", timeout=1.0)
    """

    engine: Literal["trafilatura", "resiliparse"] = "trafilatura"
    timeout: float = Field(1.0, ge=0)
    favour_precision: bool = True
    deduplicate: bool = True
    cross_page_dedup: bool = False

    def open(self) -> None:
        # import here, once per partition: a missing package is one error line, not every page quarantined
        from dataforge.core.errors import ForgeError

        try:
            if self.engine == "resiliparse":
                import resiliparse.extract.html2text  # noqa: F401
            else:
                import trafilatura  # noqa: F401
        except ImportError as e:
            hint = ("pip install resiliparse==2.0.1, or use engine='trafilatura'" if self.engine == "resiliparse"
                    else "pip install trafilatura==2.3.1 lxml_html_clean")
            raise ForgeError(f"ExtractText(engine={self.engine!r}): {e}; {hint}") from None

    def _extract(self, html: str) -> str:
        if self.engine == "resiliparse":
            return resiliparse_text(html)
        return trafilatura_text(html, self.favour_precision, self.deduplicate, self.cross_page_dedup)

    def judge(self, doc: Doc) -> str | None:
        if doc.metadata.get("content_type") == "text/plain":  # a WET record: extracted by the crawler
            return None if doc.text.strip() else "no_main_text"
        try:
            text = self._timed(doc.text)
        except _Timeout:
            return Quarantine("extract_timeout")
        except Exception:  # noqa: BLE001 - lxml or the extractor choked on this page
            return Quarantine("extract_error")
        if not text:
            return "no_main_text"
        doc.text = text
        return None

    def _timed(self, html: str) -> str:
        # A timer signal interrupts pure-Python extraction in place: no subprocess per executor, and the
        # worker's main thread (where Spark runs Python UDFs) is the only one allowed to take it.
        if not self.timeout or threading.current_thread() is not threading.main_thread():
            return self._extract(html)
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            return self._extract(html)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
