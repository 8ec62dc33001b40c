"""Small WARC files made from the demo web corpus: the WARC example's input, the tests' and the bench's.

`web_pages(seed)` wraps each document of `make_web_corpus(seed)` in an HTML page (navigation, header,
the text as paragraphs, a footer), and `write_warc` writes pages as a crawler would: a `warcinfo`
record, then per page a `request` and a `response`, plus the usual non-documents (an image, a
robots.txt, a PDF). Record ids and dates are derived from the URL, so the same pages give the same
bytes. The shipped `curation/data/web_demo.warc.gz` is `write_warc(path, web_pages(0))`.

    python -m curation.warc_corpus curation/data/web_demo.warc.gz
"""

from __future__ import annotations

import html
import io
import sys
import uuid
from pathlib import Path
from typing import Any

from curation.corpus import DATA_DIR, make_web_corpus

NAV = '<nav><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></nav>'
FOOTER = "<footer><p>Copyright 2024. All rights reserved. Terms of use. Privacy.</p></footer>"


def web_demo_warc_path() -> Path:
    """The shipped demo crawl (`write_warc(path, web_pages(0))`)."""
    return DATA_DIR / "web_demo.warc.gz"


def html_page(title: str, text: str, charset: str = "utf-8") -> str:
    """A page with boilerplate around `text`, one `<p>` per line of it."""
    paras = "\n".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n") if p.strip())
    return (f'<!DOCTYPE html>\n<html><head><meta charset="{charset}"><title>{html.escape(title)}</title></head>'
            f"<body>{NAV}<header><h1>{html.escape(title)}</h1></header>\n<main><article>\n{paras}\n"
            f"</article></main>{FOOTER}</body></html>\n")


def web_pages(seed: int = 0) -> list[dict[str, Any]]:
    """One HTML page per demo document: {url, html (bytes), content_type}.

    A few pages sit on a block-listed domain or under a banned word, for the URL filter to find.
    """
    pages = []
    for i, rec in enumerate(make_web_corpus(seed)):
        url = rec.get("metadata", {}).get("url") or f"https://example.org/page/{i:04d}"
        if i % 50 == 5:
            url = f"https://www.spammy-deals.net/offer/{i:04d}"
        elif i % 50 == 25:
            url = f"https://example.org/casino/{i:04d}"
        title = rec["text"].split(".")[0][:60]
        pages.append({"url": url, "html": html_page(title, rec["text"]).encode("utf-8"), "content_type": "text/html"})
    return pages


def _rid(url: str, kind: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, kind + ':' + url)}>"


def warc_bytes(pages: list[dict[str, Any]], compress: bool = True, extras: bool = True) -> bytes:
    """WARC bytes: warcinfo, then per page a request and a response; `extras` adds non-HTML responses.

    A page is {url, html (bytes), content_type, optional charset header and payload_type}.
    """
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=compress)
    date = "2024-05-01T00:00:00Z"
    info = w.create_warcinfo_record("demo.warc", {"software": "dataforge", "format": "WARC File Format 1.1"})
    info.rec_headers.replace_header("WARC-Record-ID", _rid("demo", "warcinfo"))
    info.rec_headers.replace_header("WARC-Date", date)
    w.write_record(info)
    if extras:
        pages = [*pages,
                 {"url": "https://example.org/logo.png", "html": b"\x89PNG\r\n\x1a\n" + bytes(64),
                  "content_type": "image/png"},
                 {"url": "https://example.org/robots.txt", "html": b"User-agent: *\nDisallow:\n",
                  "content_type": "text/plain"},
                 {"url": "https://example.org/report.pdf", "html": b"%PDF-1.4\n%\xe2\xe3\n", "content_type":
                  "application/pdf"}]
    for p in pages:
        url = p["url"]
        req = StatusAndHeaders("GET / HTTP/1.1", [("Host", url.split("/")[2])], is_http_request=True)
        rec = w.create_warc_record(url, "request", payload=io.BytesIO(b""), http_headers=req,
                                   warc_headers_dict={"WARC-Record-ID": _rid(url, "request"), "WARC-Date": date})
        w.write_record(rec)
        ctype = p["content_type"] + (f"; charset={p['charset']}" if p.get("charset") else "")
        http = StatusAndHeaders("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(p["html"])))],
                                protocol="HTTP/1.1")
        headers = {"WARC-Record-ID": _rid(url, "response"), "WARC-Date": date,
                   "WARC-Identified-Payload-Type": p.get("payload_type", p["content_type"])}
        rec = w.create_warc_record(url, "response", payload=io.BytesIO(p["html"]), http_headers=http,
                                   warc_headers_dict=headers)
        w.write_record(rec)
    return buf.getvalue()


def write_warc(path: str | Path, pages: list[dict[str, Any]], compress: bool = True, extras: bool = True) -> Path:
    path = Path(path)
    path.write_bytes(warc_bytes(pages, compress, extras))
    return path


if __name__ == "__main__":
    write_warc(sys.argv[1] if len(sys.argv) > 1 else web_demo_warc_path(), web_pages(0))
