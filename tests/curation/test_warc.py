"""WARC input: every record accounted for, bad members isolated, text as datatrove extracts it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from curation import ExtractText, Pipeline, URLFilter, run_pipeline, web_pages
from curation.extract import trafilatura_text
from curation.steps.base import Doc, Quarantine
from curation.warc import warc_rows
from curation.warc_corpus import html_page, warc_bytes
from curation.warc_split import GZIP_MAGIC, byte_ranges, record_units

LATIN = "Café crème et pâtisserie: le marché de la ville ouvre à sept heures chaque matin. " * 6


def _pages() -> list[dict]:
    pages = web_pages(0)[:6]
    pages.append({"url": "https://example.fr/latin", "html": html_page("Marché", LATIN, "iso-8859-1")
                  .encode("latin-1"), "content_type": "text/html"})
    pages.append({"url": "https://example.org/empty", "html": b"<html><head><title>Gallery</title>"
                  b"<script>var a = 1;</script></head><body><div><img src='a.png'></div></body></html>", "content_type": "text/html"})
    big = "\n".join(f"Paragraph {i} of a very long page about the history of the town, its markets, its river "
                    "and the people who lived there for centuries." for i in range(2000))
    pages.append({"url": "https://example.org/big", "html": html_page("Big", big).encode(), "content_type": "text/html"})
    return pages


def _break_member(data: bytes, n: int) -> bytes:
    """`data` with the n-th gzip member's deflate stream overwritten (its header left intact)."""
    starts = [i for i in range(len(data)) if data.startswith(GZIP_MAGIC, i)]
    s = starts[n]
    return data[:s + 20] + b"\xff" * 24 + data[s + 44:]


@pytest.fixture(scope="session")
def crawl(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("crawl")
    # members: 0 warcinfo, then request/response per page; member 4 is the response of page 2
    (d / "a.warc.gz").write_bytes(_break_member(warc_bytes(_pages()), 4))
    return d / "a.warc.gz"


@pytest.fixture(scope="session")
def crawl_run(spark, crawl, tmp_path_factory):
    pipeline = Pipeline(steps=[URLFilter(), ExtractText(timeout=5.0)])
    return run_pipeline(pipeline, [str(crawl)], tmp_path_factory.mktemp("out") / "cur", spark=spark)


def test_every_warc_record_has_one_ledger_row(crawl, crawl_run, rows):
    records = list(warc_rows(0, f"file:{crawl}", "a.warc.gz", 10_000_000))
    ledger = rows(crawl_run.out / "ledger")
    assert len(ledger) == len(records) == 1 + 2 * (len(_pages()) + 3)
    reasons = {(r["decision"], r["reason"]) for r in ledger}
    assert ("dropped", "not_response") in reasons  # warcinfo and requests
    assert ("dropped", "not_html") in reasons  # image, robots.txt, PDF
    assert ("quarantined", "corrupt_gzip_member") in reasons
    assert ("dropped", "no_main_text") in reasons
    by_step = {(r["step"], r["reason"]) for r in ledger if r["decision"] != "kept"}
    assert ("read", "not_response") in by_step and ("ExtractText", "no_main_text") in by_step
    counts = crawl_run.manifest.counts
    assert counts["kept"] + counts["dropped"] + counts["quarantined"] == len(records)


def test_reading_goes_on_after_a_broken_gzip_member(crawl):
    rows = list(warc_rows(0, f"file:{crawl}", "a.warc.gz", 10_000_000))
    bad = [i for i, r in enumerate(rows) if r["reason"] == "corrupt_gzip_member"]
    assert bad == [4]
    assert [r["status"] for r in rows[5:7]] == ["dropped", "ok"]  # the next request and response
    assert rows[-1]["reason"] == "not_html"  # read to the end


def test_kept_pages_carry_warc_ids_metadata_and_decoded_text(crawl_run, rows):
    data = {r["metadata"]["url"] if isinstance(r["metadata"], dict) else json.loads(r["metadata"])["url"]: r
            for r in rows(crawl_run.out / "data")}
    latin = data["https://example.fr/latin"]
    meta = latin["metadata"] if isinstance(latin["metadata"], dict) else json.loads(latin["metadata"])
    assert meta["charset"] != "UTF-8" and "Café crème" in latin["text"]
    assert latin["id"].startswith("<urn:uuid:")
    assert "history of the town" in data["https://example.org/big"]["text"]
    assert "Home | About" not in latin["text"]  # boilerplate gone


def test_extraction_timeout_quarantines_the_page():
    step = ExtractText(timeout=0.001)
    step.open()
    big = html_page("Big", "\n".join(f"Line {i} of a long page with some words." for i in range(20000)))
    verdict = step.judge(Doc(id="1", text=big))
    assert isinstance(verdict, Quarantine) and verdict == "extract_timeout"


def test_plain_warc_and_wet_records(tmp_path):
    from warcio.warcwriter import WARCWriter

    path = tmp_path / "b.warc"
    path.write_bytes(warc_bytes(web_pages(0)[:2], compress=False, extras=False))
    rows = list(warc_rows(0, f"file:{path}", "b.warc", 10_000_000))
    assert [r["status"] for r in rows] == ["dropped", "dropped", "ok", "dropped", "ok"]
    wet = tmp_path / "c.wet"
    with open(wet, "wb") as f:
        w = WARCWriter(f, gzip=False)
        import io
        rec = w.create_warc_record("https://example.org/x", "conversion", payload=io.BytesIO(b"Plain text here."),
                                   warc_content_type="text/plain",
                                   warc_headers_dict={"WARC-Identified-Payload-Type": "text/plain"})
        w.write_record(rec)
    (row,) = list(warc_rows(0, f"file:{wet}", "c.wet", 10_000_000))
    assert row["status"] == "ok" and row["text"] == "Plain text here."
    doc = Doc(id="x", text=row["text"], metadata=json.loads(row["metadata"]))
    assert ExtractText().judge(doc) is None and doc.text == "Plain text here."


def test_url_filter_reasons_match_datatrove_rules(tmp_path):
    (tmp_path / "d.txt").write_text("# blocked\nspammy-deals.net\nads.good.org\n")
    (tmp_path / "w.txt").write_text("casino\n")
    (tmp_path / "s.txt").write_text("free\nbonus\n")
    step = URLFilter(domains=str(tmp_path / "d.txt"), banned_words=str(tmp_path / "w.txt"),
                     soft_banned_words=str(tmp_path / "s.txt"))
    step.open()
    cases = {"https://www.spammy-deals.net/a": "domain", "https://ads.good.org/x": "subdomain",
             "https://good.org/casino/1": "hard_blacklisted", "https://good.org/free-bonus": "soft_blacklisted",
             "https://good.org/free-recipes": None}
    assert {u: step.judge(Doc(id="1", text="t", metadata={"url": u})) for u in cases} == cases
    assert "spammy" not in json.dumps(step.config())  # the manifest names the files and their hashes only


def test_extracted_text_matches_datatrove_trafilatura(tmp_path):
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader

    pytest.importorskip("magic")
    (tmp_path / "p.warc.gz").write_bytes(warc_bytes(_pages()[:-1]))  # datatrove stops at a broken member
    reader = WarcReader(str(tmp_path), glob_pattern="p.warc.gz")
    ours = {r["id"]: r["text"] for r in warc_rows(0, f"file:{tmp_path}/p.warc.gz", "p", 10_000_000)
            if r["status"] == "ok"}
    docs = list(reader.run())
    assert {d.id for d in docs} <= set(ours) and len(docs) >= 5
    theirs = {d.id: d.text for d in Trafilatura(timeout=5).run(iter(docs))}
    assert theirs == {k: trafilatura_text(ours[k]) for k in theirs}


def test_resiliparse_engine_extracts_main_text():
    pytest.importorskip("resiliparse")
    step = ExtractText(engine="resiliparse")
    step.open()
    doc = Doc(id="1", text=html_page("Birds", "Herons stand still in the shallows before they strike at a fish."))
    assert step.judge(doc) is None and "Herons stand still" in doc.text
    empty = Doc(id="2", text="<html><body><script>var a = 1;</script></body></html>")
    assert step.judge(empty) == "no_main_text"


def _wet_bytes(compress: bool) -> bytes:
    """A WET file: warcinfo, then one `conversion` record of plain text per demo page."""
    import io

    from warcio.warcwriter import WARCWriter

    buf = io.BytesIO()
    w = WARCWriter(buf, gzip=compress)
    w.write_record(w.create_warcinfo_record("demo.wet", {"software": "dataforge"}))
    for i, page in enumerate(web_pages(0)[:12]):
        text = page["html"].decode("utf-8").replace("<", " ").replace(">", " ")
        w.write_record(w.create_warc_record(page["url"], "conversion", payload=io.BytesIO(text.encode()),
                                            warc_content_type="text/plain",
                                            warc_headers_dict={"WARC-Record-ID": f"<urn:wet:{i}>"}))
    return buf.getvalue()


def _read_ranges(path: Path, split: int) -> tuple[list[tuple], int]:
    """The rows of every byte range of `path` (in order) as comparable tuples, and how many ranges had rows."""
    out, busy = [], 0
    for start, end in byte_ranges(path.stat().st_size, split):
        rows = list(warc_rows(0, f"file:{path}", path.name, 10_000_000, start, end))
        assert all(r["block"] == start for r in rows) and [r["idx"] for r in rows] == list(range(len(rows)))
        busy += bool(rows)
        out += [(r["status"], r["reason"], r["id"], r["text"], r["metadata"], r["raw"]) for r in rows]
    return out, busy


@pytest.mark.parametrize("name", ["a.warc.gz", "b.warc", "c.wet", "d.wet.gz"])
def test_byte_ranges_read_each_record_once_in_order(tmp_path, name):
    data = {"a.warc.gz": _break_member(warc_bytes(_pages()), 4), "b.warc": warc_bytes(_pages(), compress=False),
            "c.wet": _wet_bytes(False), "d.wet.gz": _wet_bytes(True)}[name]
    path = tmp_path / name
    path.write_bytes(data)
    whole, _ = _read_ranges(path, len(data))
    assert len(whole) > 12 and {r[0] for r in whole} >= {"ok", "dropped"}
    for split in (997, 2048, len(data) // 5, len(data) // 2 + 1):
        ranges, busy = _read_ranges(path, split)
        assert ranges == whole, split
        assert busy >= 2, split  # really read by several tasks


def _offsets(path: Path, gz: bool) -> list[int]:
    with open(path, "rb") as f:
        return [pos for pos, _, _ in record_units(f, gz)]


@pytest.mark.parametrize("gz", [True, False])
def test_a_broken_record_at_a_range_boundary_is_quarantined_once(tmp_path, gz):
    if gz:
        data, reason = _break_member(warc_bytes(_pages()), 4), "corrupt_gzip_member"
    else:  # record 4's header loses its Content-Length: it does not parse
        data, reason = warc_bytes(_pages(), compress=False), "bad_warc_record"
        at = [i for i in range(len(data)) if data.startswith(b"WARC/1.", i)][4]
        cut = data.index(b"Content-Length", at)
        data = data[:cut] + b"Content-Lngth!" + data[cut + 14:]
    path = tmp_path / ("e.warc.gz" if gz else "e.warc")
    path.write_bytes(data)
    broken = _offsets(path, gz)[4]
    whole, _ = _read_ranges(path, len(data))
    assert [r[1] for r in whole].count(reason) == 1 and whole[4][1] == reason
    assert whole[5][0] == "dropped" and whole[6][0] == "ok"  # reading went on
    for split in (broken - 1, broken, broken + 1, broken + 12, broken // 2 + 1):
        ranges, _ = _read_ranges(path, split)
        assert ranges == whole, split


def test_spark_reads_large_warc_files_by_byte_range(spark, crawl, crawl_run, rows, file_bytes, tmp_path):
    pipeline = Pipeline(steps=[URLFilter(), ExtractText(timeout=5.0)], warc_split_bytes=1500)
    split = run_pipeline(pipeline, [str(crawl)], tmp_path / "cur", spark=spark)
    assert split.manifest.id == crawl_run.manifest.id
    assert file_bytes(split.out) == file_bytes(crawl_run.out)  # ledger, data, quarantine: the same bytes
    assert [r["reason"] for r in rows(split.out / "ledger")].count("corrupt_gzip_member") == 1


def test_a_range_that_cannot_be_opened_is_one_fault_of_its_file(spark, crawl, tmp_path):
    from curation.readers import PARSED_DDL, file_faults

    ranges = byte_ranges(crawl.stat().st_size, 4000)
    rows = []
    for i, (start, end) in enumerate(ranges):  # every other range finds the file gone
        rows += warc_rows(0, f"file:{tmp_path / 'gone.warc.gz' if i % 2 else crawl}", "a.warc.gz", 10_000_000,
                          start, end)
    faults = [r for r in rows if r["status"] == "file_fault"]
    assert [r["block"] for r in faults] == [s for i, (s, _) in enumerate(ranges) if i % 2]
    assert faults[0]["raw"].startswith(b"bytes 4000-8000: ")
    ((name, fault),) = file_faults(spark.createDataFrame(rows, PARSED_DDL), [f"file:{crawl}"], ["a.warc.gz"])
    assert name == "a.warc.gz" and fault.reason == "unreadable"
    assert fault.records_kept == len(rows) - len(faults) > 0
