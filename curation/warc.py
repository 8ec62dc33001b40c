"""WARC, WARC.gz and WET files, read executor-side: every WARC record is accounted for.

A task reads one file (pyarrow.fs: local, HDFS, S3) and yields one parsed row per WARC record:
- an HTML response (or a WET `conversion` record of plain text) becomes a text record: id = its
  `WARC-Record-ID`, text = the decoded payload, metadata = url, date, content type and charset;
- every other record is `dropped` at read with its reason: `not_response` (warcinfo, request,
  metadata, revisit, ...) or `not_html` (a response of another media type);
- a payload that decodes in no charset is quarantined as `bad_charset`, its bytes kept.
The record filter and the charset rule (UTF-8, else the detected charset) are datatrove's `WarcReader`
rules, so the same WARC gives the same documents here as in a datatrove pipeline.

A `.warc.gz` file is a series of gzip members, one per record; a plain one a series of records.
They are split here (warc_split.py) rather than by warcio, which stops at the first bad member: a
member that does not decompress is quarantined (`corrupt_gzip_member`, its compressed bytes kept), a
plain record whose header does not parse or whose block is cut short `bad_warc_record` (its bytes
kept), and reading goes on at the next record start. A file larger than the split size is read by
several tasks, one per byte range, with the same rows as one task reading it whole.
A `.warc.gz` compressed as one single gzip stream (not per record) is read whole into memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from curation.filereaders import fault_row, one_line, open_file
from curation.parse import guarded, quarantine_row
from curation.warc_split import record_units

WARC_EXT = (".warc", ".warc.gz", ".wet", ".wet.gz")  # Common Crawl names WET files `.warc.wet.gz`
HTML_TYPES = ("text/html", "application/xhtml+xml")


def _payload_type(record, content: bytes) -> str | None:
    """The media type, as datatrove decides it: the crawler's identified type, else sniffed."""
    mime = record.rec_headers.get_header("WARC-Identified-Payload-Type")
    if mime is not None:
        return mime
    try:
        import magic

        return magic.from_buffer(content, mime=True)
    except ImportError:  # libmagic missing: fall back on what the server said
        http = record.http_headers.get_header("Content-Type") if record.http_headers else None
        return http.split(";")[0].strip().lower() if http else None


def _decode(content: bytes) -> tuple[str, str] | None:
    try:
        return content.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        import cchardet as chardet  # faust-cchardet: datatrove's detector, so the same charset is chosen
    except ImportError:  # pragma: no cover - a declared dependency
        import charset_normalizer as chardet
    charset = chardet.detect(content)["encoding"]
    if not charset or charset == "UTF-8":
        return None
    try:
        return content.decode(charset), charset
    except (UnicodeDecodeError, LookupError):
        return None


def record_row(record, source: str, max_bytes: int) -> dict[str, Any]:
    """One WARC record -> an ok text row, a row dropped with its reason, or a quarantined row."""
    headers = record.rec_headers
    rid = headers.get_header("WARC-Record-ID") or None
    if record.rec_type not in ("response", "conversion"):
        return _dropped("not_response", rid, source, record.rec_type)
    mime = headers.get_header("WARC-Identified-Payload-Type")
    if mime is not None and not _wanted(mime, record.rec_type):
        return _dropped("not_html", rid, source, mime)
    content = record.content_stream().read()
    mime = _payload_type(record, content)
    if mime is None or not _wanted(mime, record.rec_type):
        return _dropped("not_html", rid, source, str(mime))
    decoded = _decode(content)
    if decoded is None:
        return quarantine_row("bad_charset", content, rid, source)
    text, charset = decoded
    meta = {"url": headers.get_header("WARC-Target-URI") or headers.get_header("uri"),
            "date": headers.get_header("WARC-Date") or headers.get_header("archive-date"),
            "content_type": mime, "charset": charset, "warc_type": record.rec_type}
    return guarded({"id": rid, "text": text, "metadata": meta}, lambda: content, source, "text", max_bytes)


def _wanted(mime: str, rec_type: str) -> bool:
    return mime in HTML_TYPES or (rec_type == "conversion" and mime == "text/plain")


def _dropped(reason: str, rid: str | None, source: str, what: str) -> dict[str, Any]:
    row = quarantine_row(reason, what.encode("utf-8", "replace"), rid, source)
    row["status"] = "dropped"
    return row


def _records(data) -> Iterator[Any]:
    from warcio.archiveiterator import ArchiveIterator

    # no_record_parse=False: HTTP headers are parsed, so payloads are de-chunked and decoded as datatrove sees them
    yield from ArchiveIterator(data)


def warc_rows(f: int, uri: str, source: str, max_bytes: int, start: int = 0,
              end: int | None = None) -> Iterator[dict[str, Any]]:
    """Rows of the WARC records of one file (or of the records starting in its byte range [start, end),
    see warc_split.py) in record order: `block` = `start`, `idx` = the record's ordinal in the range."""
    try:
        stream = open_file(uri, random_access=start > 0)
    except Exception as e:  # noqa: BLE001 - `block` >= 0: the runner keeps one fault per file (readers.py)
        where = "" if start == 0 and end is None else f"bytes {start}-{'' if end is None else end}: "
        yield {**fault_row(f, "unreadable", where + one_line(e), 0), "block": start}
        return
    gz = uri.endswith(".gz")
    idx = 0
    with stream:
        for _, data, raw in record_units(stream, gz, start, end):
            if data is None:
                rows = [quarantine_row("corrupt_gzip_member" if gz else "bad_warc_record", raw, source=source)]
            else:
                rows = _member_rows(data, source, max_bytes)
            for row in rows:
                yield {**row, "file_index": f, "block": start, "idx": idx}
                idx += 1


def _member_rows(data: bytes, source: str, max_bytes: int) -> list[dict[str, Any]]:
    """The records of one unit: a decompressed member (one record, in a well-formed WARC.gz) or a plain record."""
    rows: list[dict[str, Any]] = []
    try:
        for record in _records(io.BytesIO(data)):
            rows.append(_safe_row(record, source, max_bytes))
    except Exception:  # noqa: BLE001 - the member decompressed but is not a WARC record
        rows.append(quarantine_row("bad_warc_record", data, source=source))
    return rows


def _safe_row(record, source: str, max_bytes: int) -> dict[str, Any]:
    try:
        return record_row(record, source, max_bytes)
    except Exception:  # noqa: BLE001 - an odd payload (bad chunking, bad content encoding)
        rid = record.rec_headers.get_header("WARC-Record-ID")
        return quarantine_row("bad_warc_record", b"", rid, source)
