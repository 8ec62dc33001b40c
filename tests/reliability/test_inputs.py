"""Bad input fails one record or one file, never the job: every line is in the ledger or named in a fault.

One curate run reads a JSONL folder and a Parquet folder holding one of each bad-input class; each test
checks its class in that run's ledger, data, quarantine and manifest. The CLI tests check the one-line
summary and `--strict`.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import zlib

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation import Pipeline, run_pipeline
from curation.parse import parse_record
from dataforge.core.errors import ForgeError
from tests.reliability.conftest import error_line, forge, ledger_rows, nonblank_lines, snapshot

DEEP = '{"text": "deep", "m": ' + "[" * 5000 + "]" * 5000 + "}"
HUGE_INT = '{"text": "huge", "n": ' + "9" * 5000 + "}"
TOOL_CALL = {"messages": [{"role": "user", "content": "Weather in Paris?"},
                          {"role": "assistant", "content": None,
                           "tool_calls": [{"id": "c1", "type": "function",
                                           "function": {"name": "weather", "arguments": "{}"}}]},
                          {"role": "tool", "tool_call_id": "c1", "content": "Sunny"}]}
PARTS = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}
RECORDS = [  # (line, reason or "kept")
    ('{"id": "good-1", "text": "A perfectly ordinary document."}', "kept"),
    (DEEP, "too_deep"),
    (HUGE_INT, "bad_number"),
    (b'{"text": "caf\xe9"}', "bad_utf8"),
    ('{"text": "lone \\ud800 surrogate"}', "bad_unicode"),
    ('{"id": "nan-1", "text": "Scores that are not numbers.", "metadata": {"score": NaN}, "hi": Infinity, '
     '"lo": -Infinity, "big": 1e999}', "kept"),
    (json.dumps(TOOL_CALL), "kept"),  # the record contract carries tool calls and content parts
    (json.dumps(PARTS), "kept"),
    (json.dumps({"messages": [{"role": "user", "content": "x", "audio": {"id": "a"}}]}), "unsupported_message_field"),
    ('{"text": "x", "chat_template_kwargs": null, "messages": [{"role": "user", "content": "q", "name": "bob"}]}',
     "kept"),  # text and messages: a chat record, its text carried in metadata, not trimmed
    ("", None),
]
GOOD_LINES = [json.dumps({"id": f"gz-{i}", "text": f"Compressed document number {i} of the set."})
              for i in range(400)]


def _strict_loads(s: str):
    def no_constant(c):
        raise ValueError(f"non-standard JSON constant {c}")
    return json.loads(s, parse_constant=no_constant)


def _lines_bytes(lines) -> bytes:
    return b"".join((ln if isinstance(ln, bytes) else ln.encode()) + b"\n" for ln in lines)


def _recoverable(gz: bytes) -> bytes:
    """Every byte a gzip stream yields before it breaks off."""
    return zlib.decompressobj(wbits=31).decompress(gz)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    j, p, outside = d / "jsonl", d / "parquet", d / "outside"
    for x in (j, p, outside):
        x.mkdir()
    (j / "records.jsonl").write_bytes(_lines_bytes([ln for ln, _ in RECORDS]))
    (j / "good.jsonl.gz").write_bytes(gzip.compress(_lines_bytes(GOOD_LINES[:50]), mtime=0))
    whole = gzip.compress(_lines_bytes(GOOD_LINES), mtime=0)
    (j / "truncated.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    (j / "badheader.jsonl.gz").write_bytes(b"this is not gzip at all\n" * 10)
    (outside / "target.jsonl").write_text(json.dumps({"id": "via-link", "text": "Read through a symlink."}) + "\n")
    os.symlink(outside / "target.jsonl", j / "link.jsonl")
    os.symlink(d / "missing.jsonl", j / "broken.jsonl")
    os.mkfifo(j / "fifo.jsonl")
    (j / ".hidden.jsonl").write_text('{"text": "hidden by design"}\n')
    (j / "notes.txt").write_text("not an input format\n")

    pq.write_table(pa.table({"id": ["pq-1", "pq-2"], "text": ["First Parquet document.", "Second one."]}),
                   p / "a_good.parquet")
    pq.write_table(pa.table({
        "id": ["bin-ok", "bin-bad"],
        "text": pa.array(["Binary text that is UTF-8: café.".encode(), b"\xff\xfe not utf-8"], pa.binary()),
        "blob": pa.array([b"\x00\x9f\xff", b"plain"], pa.binary()),
        "score": [float("nan"), float("-inf")],
    }), p / "b_binary.parquet")
    pq.write_table(pa.table({"id": ["c-1", "c-2", "c-3"], "text": [1, 2, 3]}), p / "c_conflict.parquet")
    (p / "d_garbage.parquet").write_bytes(b"PAR1" + os.urandom(64) + b"PAR1")
    return d


@pytest.fixture(scope="module")
def run(spark, inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "curated"
    result = run_pipeline(Pipeline(steps=[]), [str(inputs / "jsonl"), str(inputs / "parquet")], out, spark=spark)
    ledger = ledger_rows(out)
    # file rows name the file without a line; keyed here relative to the inputs' folder
    files = {r["input"].removeprefix(f"{inputs}/"): r for r in ledger if ":" not in r["input"].rsplit("/", 1)[-1]}
    records = [r for r in ledger if r["records_kept"] is None]
    return result, out, records, files


def _of(records, name):
    return {r["input"].rsplit(":", 1)[1]: r for r in records if r["input"].rsplit(":", 1)[0].endswith("/" + name)}


def _quarantine(out):
    return {r["input"]: r for f in sorted((out / "quarantine").glob("*.parquet")) for r in pq.read_table(f).to_pylist()}


def test_bad_records_are_quarantined_each_with_its_reason_and_bytes(run, inputs):
    result, out, records, _ = run
    rows = _of(records, "records.jsonl")
    src = inputs / "jsonl" / "records.jsonl"
    assert len(rows) == nonblank_lines(src)
    raw = src.read_bytes().split(b"\n")
    quarantine = {k.rsplit(":", 1)[1]: v for k, v in _quarantine(out).items() if "records.jsonl" in k}
    for n, (_, want) in enumerate(RECORDS, 1):
        if want is None:
            assert str(n) not in rows
        elif want == "kept":
            assert rows[str(n)]["decision"] == "kept", rows[str(n)]
        else:
            assert (rows[str(n)]["decision"], rows[str(n)]["reason"]) == ("quarantined", want)
            assert quarantine[str(n)]["raw"] == raw[n - 1]  # kept byte for byte


def test_non_finite_numbers_in_metadata_are_strict_json_strings(run):
    result, out, _, _ = run
    data = {r["id"]: r for f in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()}
    meta = _strict_loads(data["nan-1"]["metadata"])
    assert meta == {"score": "NaN", "hi": "Infinity", "lo": "-Infinity", "big": "Infinity"}
    assert _strict_loads(data["bin-ok"]["metadata"])["score"] == "NaN"
    for r in data.values():
        _strict_loads(r["metadata"])
    _strict_loads((out / "manifest.json").read_text())


def test_the_text_of_a_chat_record_is_carried_in_metadata_not_dropped(run):
    _, out, _, _ = run
    data = [r for f in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    rec = next(r for r in data if json.loads(r["metadata"]).get("text") == "x")
    assert rec["messages"][0]["name"] == "bob"


def test_truncated_gzip_keeps_the_records_before_the_fault(run, inputs):
    _, out, records, files = run
    rows = _of(records, "truncated.jsonl.gz")
    recovered = _recoverable((inputs / "jsonl" / "truncated.jsonl.gz").read_bytes())
    n = sum(1 for ln in recovered.split(b"\n") if ln.strip())
    assert 0 < n < len(GOOD_LINES) and not recovered.endswith(b"\n")
    assert len(rows) == n  # every complete line, plus the cut one
    assert all(rows[str(i)]["decision"] == "kept" and rows[str(i)]["id"] == f"gz-{i - 1}" for i in range(1, n))
    assert rows[str(n)]["reason"] == "not_json"  # the line the fault cut in half, kept in quarantine
    fault = files["jsonl/truncated.jsonl.gz"]
    assert (fault["decision"], fault["reason"], fault["records_kept"]) == ("quarantined", "truncated_gzip", n)


def test_corrupt_gzip_header_is_a_file_fault(run):
    _, _, records, files = run
    assert _of(records, "badheader.jsonl.gz") == {}
    assert (files["jsonl/badheader.jsonl.gz"]["reason"], files["jsonl/badheader.jsonl.gz"]["records_kept"]) == (
        "corrupt_gzip", 0)


def test_good_files_are_all_kept_beside_the_bad_ones(run, inputs):
    result, _, records, _ = run
    gz = _of(records, "good.jsonl.gz")
    assert len(gz) == 50 and all(r["decision"] == "kept" for r in gz.values())
    assert [r["id"] for r in _of(records, "link.jsonl").values()] == ["via-link"]  # a symlink is followed
    assert {r["id"] for r in _of(records, "a_good.parquet").values()} == {"pq-1", "pq-2"}
    c = result.manifest.counts
    assert c["input"] == len(records) == c["kept"] + c["dropped"] + c["quarantined"]
    assert c["skipped_files"] == {"hidden": 1, "other_format": 1}


def test_unreadable_parquet_is_a_file_fault(run):
    _, _, records, files = run
    assert _of(records, "d_garbage.parquet") == {}
    assert (files["parquet/d_garbage.parquet"]["reason"], files["parquet/d_garbage.parquet"]["records_kept"]) == (
        "bad_parquet", 0)


def test_parquet_schema_conflict_is_a_file_fault(run, inputs):
    _, _, records, files = run
    assert _of(records, "c_conflict.parquet") == {}
    assert pq.ParquetFile(inputs / "parquet" / "c_conflict.parquet").metadata.num_rows == 3
    assert files["parquet/c_conflict.parquet"]["reason"] == "schema_conflict"


def test_parquet_binary_text_is_decoded_or_quarantined_never_base64(run):
    _, out, records, _ = run
    rows = _of(records, "b_binary.parquet")
    assert len(rows) == 2
    assert rows["1"]["decision"] == "kept" and (rows["2"]["decision"], rows["2"]["reason"]) == ("quarantined", "bad_utf8")
    data = {r["id"]: r for f in sorted((out / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()}
    assert data["bin-ok"]["text"] == "Binary text that is UTF-8: café."
    assert json.loads(data["bin-ok"]["metadata"])["blob"] == {"$base64": "AJ//"}  # metadata bytes: marked base64
    q = next(v for k, v in _quarantine(out).items() if k.endswith("b_binary.parquet:2"))
    assert json.loads(q["raw"])["text"] == {"$base64": "//4gbm90IHV0Zi04"}  # the bytes, recoverable


def test_broken_symlink_and_fifo_are_named_not_read_or_skipped(run, inputs):
    result, _, _, files = run
    assert files["jsonl/broken.jsonl"]["reason"] == "broken_symlink"
    assert files["jsonl/fifo.jsonl"]["reason"] == "not_a_regular_file"
    named = {f["file"].removeprefix(f"{inputs}/"): f["reason"] for f in result.manifest.extra["quarantined_files"]}
    assert named == {"jsonl/badheader.jsonl.gz": "corrupt_gzip", "jsonl/broken.jsonl": "broken_symlink",
                     "jsonl/fifo.jsonl": "not_a_regular_file", "jsonl/truncated.jsonl.gz": "truncated_gzip",
                     "parquet/c_conflict.parquet": "schema_conflict", "parquet/d_garbage.parquet": "bad_parquet"}
    assert result.manifest.counts["quarantined_files"] == len(named) == len(files)


def test_strict_run_fails_in_one_line_and_writes_nothing(spark, inputs, tmp_path):
    before = snapshot(inputs)
    out = tmp_path / "strict"
    with pytest.raises(ForgeError, match=r"truncated\.jsonl\.gz: truncated_gzip") as e:
        run_pipeline(Pipeline(steps=[], strict=True), [str(inputs / "jsonl" / "truncated.jsonl.gz")], out,
                     spark=spark)
    assert "\n" not in str(e.value)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert snapshot(inputs) == before


def test_files_read_per_task_give_the_same_bytes_however_tasks_are_packed(spark, run, inputs, tmp_path,
                                                                           monkeypatch):
    import curation.readers

    result, out, _, _ = run
    monkeypatch.setattr(curation.readers, "TASK_BYTES", 1)  # one Spark task per file instead of packed ones
    again = run_pipeline(Pipeline(steps=[]), [str(inputs / "jsonl"), str(inputs / "parquet")], tmp_path / "again",
                         spark=spark)
    assert again.manifest.id == result.manifest.id
    assert snapshot(tmp_path / "again" / "ledger") == snapshot(out / "ledger")
    assert snapshot(tmp_path / "again" / "data") == snapshot(out / "data")


def test_parse_record_never_raises_on_hostile_lines():
    for line in (DEEP.encode(), HUGE_INT.encode(), b'{"text": "x", "metadata": "' + b"[" * 5000 + b'"}',
                 b'{"text": "x", "metadata": {"a": 1}, "a": 2}', b'{"text": "x", "source": {"a": 1}}'):
        row = parse_record(line, "f.jsonl")
        assert row["status"] in ("ok", "quarantined") and (row["status"] == "ok" or row["reason"])
    assert parse_record(b'{"text": "x", "metadata": {"a": 1}, "a": 2}', "f")["reason"] == "metadata_conflict"
    assert parse_record(b'{"text": "x", "metadata": {"a": 1}, "a": 1}', "f")["status"] == "ok"
    assert math.isnan(json.loads('{"a": NaN}')["a"])  # the input side accepts the literal; output never has it


@pytest.mark.timeout(900)
def test_cli_names_each_quarantined_file_and_strict_exits_2_in_one_line(inputs, tmp_path):
    spec = tmp_path / "pipeline.py"
    spec.write_text("pipeline = []\n")
    p = forge("curate", str(spec), "--input", str(inputs / "jsonl"), "--out", str(tmp_path / "out"),
              "--master", "local[1]")
    assert p.returncode == 0, p.stderr[-3000:]
    assert "4 input files quarantined" in p.stderr
    assert "quarantined file truncated.jsonl.gz: truncated_gzip" in p.stderr
    assert "quarantined file fifo.jsonl: not_a_regular_file" in p.stderr
    p = forge("curate", str(spec), "--input", str(inputs / "jsonl"), "--out", str(tmp_path / "strict"),
              "--master", "local[1]", "--strict")
    assert p.returncode == 2
    # the first bad file by name: found while listing, before any Spark job
    assert "broken.jsonl: broken_symlink" in error_line(p) and "--strict" in error_line(p)
    assert not (tmp_path / "strict").exists()
