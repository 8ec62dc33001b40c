"""Malformed input is quarantined with its reason, never crashes a job and never disappears."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation import ExactDedup, Pipeline, run_pipeline
from curation.readers import parse_record
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json, text_id
from dataforge.core.records import record_from_row

CHAT = [{"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "The capital of France is Paris."}]
CHAT2 = [{"role": "user", "content": "Name a primary colour."},
         {"role": "assistant", "content": "Red is a primary colour."}]
BIG = json.dumps({"text": "word " * 4_200_000}).encode()  # a 21 MB document

LINES = [
    ({"id": "ok-1", "text": "A perfectly ordinary document.", "source": "crawl"}, "kept"),
    ("this line is not JSON", "not_json"),
    (b'{"text": "caf\xe9 au lait"}', "bad_utf8"),
    ({"id": "m-1", "title": "a record without its text field"}, "no_text"),
    ({"text": ""}, "empty_text"),
    ({"text": "   \n  "}, "empty_text"),
    ({"text": 42}, "text_not_string"),
    ({"text": ["a", "list"]}, "text_not_string"),
    (BIG, "too_large"),
    ("", None),  # a blank line is not a record
    ({"messages": CHAT, "id": "chat-1"}, "dup_pair"),
    ({"messages": CHAT2, "id": "chat-2", "chat_template_kwargs": {"enable_thinking": False}}, "kept"),
    ({"messages": "not a list"}, "bad_messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "bad_messages"),
    ('{"text": "lone \\ud800 surrogate"}', "bad_unicode"),
    ("[1, 2, 3]", "not_object"),
    ({"id": {"nested": 1}, "text": "an id that is an object"}, "bad_id"),
    ({"text": "No id here, so a content hash is used.", "lang": "en"}, "kept"),
    ({"id": 7, "text": "An integer id becomes a string."}, "kept"),
    ({"text": "\n\n".join(m["content"] for m in CHAT)}, "dup_pair"),  # same text as the chat record
    ('{"text": "deep", "m": ' + "[" * 3000 + "]" * 3000 + "}", "too_deep"),
    ('{"text": "long int", "n": ' + "7" * 4500 + "}", "bad_number"),
    ({"messages": [{"role": "assistant", "content": "x", "reasoning_content": "hmm"}]}, "kept"),
    ({"messages": [{"role": "user", "content": "x", "audio": {"id": "a1"}}]}, "unsupported_message_field"),
    ({"messages": [{"role": "assistant", "content": None, "tool_calls": "f()"}]}, "bad_tool_calls"),
    ({"messages": [{"role": "user", "content": "Think hard."}],
      "chat_template_kwargs": {"enable_thinking": True, "effort": "high"}}, "kept"),
    ({"messages": CHAT2, "chat_template_kwargs": {"enable_thinking": "yes"}}, "bad_chat_template_kwargs"),
    ({"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}, "kept"),
    ({"prompt": "The sky is", "chosen": " blue.", "rejected": [{"role": "assistant", "content": "x"}]},
     "bad_preference"),
    ({"prompt": "The sky is", "completion": 7}, "bad_completion"),
    ({"text": "same key twice", "lang": "en", "metadata": {"lang": "fr"}}, "metadata_conflict"),
    ({"text": "a source that is an object", "source": {"crawl": 1}}, "bad_source"),
]


def test_parse_record_reasons():
    for line, want in LINES:
        raw = line if isinstance(line, bytes) else (json.dumps(line) if isinstance(line, dict) else line).encode()
        got = parse_record(raw, "f.jsonl", max_bytes=10_000_000)
        if want is None:
            assert got is None
        elif want in ("kept", "dup_pair"):
            assert got["status"] == "ok", line
        else:
            assert got["status"] == "quarantined" and got["reason"] == want, (line, got and got["reason"])


@pytest.fixture(scope="module")
def malformed_run(spark, tmp_path_factory, write_jsonl):
    d = tmp_path_factory.mktemp("malformed")
    src = write_jsonl(d / "in.jsonl", [ln for ln, _ in LINES])
    return run_pipeline(Pipeline(steps=[ExactDedup()]), [str(src)], d / "out", spark=spark), src


def test_every_malformed_input_class_is_quarantined_with_its_reason(malformed_run, rows):
    result, src = malformed_run
    ledger = {r["input"]: r for r in rows(result.out / "ledger")}
    raw_lines = src.read_bytes().split(b"\n")
    quarantine = {r["input"]: r for r in rows(result.out / "quarantine")}
    n_records = sum(1 for _, want in LINES if want is not None)
    assert len(ledger) == n_records == result.manifest.counts["input"]
    assert result.manifest.counts["blank_lines"] == 1
    for n, (_, want) in enumerate(LINES, 1):
        key = f"in.jsonl:{n}"
        if want is None:
            assert key not in ledger
            continue
        row = ledger[key]
        if want == "kept":
            assert row["decision"] == "kept", row
        elif want == "dup_pair":  # one of the two survives (see the chat test)
            assert row["decision"] == "kept" or (row["step"], row["reason"]) == ("ExactDedup", "exact_dup")
        else:
            assert (row["decision"], row["step"], row["reason"]) == ("quarantined", "read", want)
            assert quarantine[key]["raw"] == raw_lines[n - 1]  # kept byte for byte, 21 MB included
    assert len(quarantine) == sum(1 for _, w in LINES if w not in (None, "kept", "dup_pair"))


def test_ids_are_kept_and_content_hashed_only_when_absent(malformed_run, rows):
    result, _ = malformed_run
    data = {r["id"]: r for r in rows(result.out / "data") if "text" in r}
    assert "ok-1" in data and "7" in data
    hashed = text_id("No id here, so a content hash is used.")
    assert hashed in data
    assert json.loads(data[hashed]["metadata"]) == {"lang": "en"}  # unknown fields land in metadata
    assert data["ok-1"]["source"] == "crawl"


def test_chat_records_are_judged_by_their_message_contents(malformed_run, rows):
    result, _ = malformed_run
    # a text record with the same contents as the chat is an exact duplicate of it: text steps see a
    # chat record as its message contents; the smaller id survives, whichever kind it is
    ids = sorted(["chat-1", text_id("\n\n".join(m["content"] for m in CHAT))])
    dup = [r for r in rows(result.out / "ledger") if r["reason"] == "exact_dup"]
    assert [(d["id"], d["cluster_id"]) for d in dup] == [(ids[1], ids[0])]
    chat = {r["id"]: r for r in rows(result.out / "data" / "chat")}  # text and chat kept side by side
    back = record_from_row(chat["chat-2"])
    assert back["messages"] == CHAT2 and back["chat_template_kwargs"] == {"enable_thinking": False}
    assert ("chat-1" in chat) == (ids[0] == "chat-1")


def test_parquet_input_and_engine_dataset_parents(spark, tmp_path, web_run, rows):
    table = pa.table({"id": ["p1", "p2", "p3"], "text": ["First document.", None, "Third document."],
                      "source": ["s", "s", "s"]})
    pq.write_table(table, tmp_path / "in.parquet")
    r = run_pipeline(Pipeline(steps=[]), [str(tmp_path / "in.parquet")], tmp_path / "out", spark=spark)
    ledger = {x["input"]: x for x in rows(r.out / "ledger")}
    assert ledger["in.parquet:2"]["reason"] == "no_text" and ledger["in.parquet:3"]["id"] == "p3"
    # an engine dataset plus a JSONL file: the dataset's manifest id becomes the parent, and the ledger
    # names each line by its input
    again = run_pipeline(Pipeline(steps=[]), [str(web_run.out), str(tmp_path / "in.parquet")],
                         tmp_path / "again", spark=spark)
    assert again.manifest.parents == [web_run.manifest.id]
    assert again.manifest.counts["kept"] == web_run.manifest.counts["kept"] + 2
    ids = sorted(x["id"] for x in rows(again.out / "data"))
    assert canonical_json(ids) == canonical_json(sorted([*(x["id"] for x in rows(web_run.out / "data")), "p1", "p3"]))
    inputs = {x["input"] for x in rows(again.out / "ledger")}
    assert f"{tmp_path / 'in.parquet'}:2" in inputs and f"{web_run.out}/data/part-00000.parquet:1" in inputs


def test_missing_input_is_a_one_line_error(spark, tmp_path):
    with pytest.raises(ForgeError, match="no such file or directory"):
        run_pipeline(Pipeline(steps=[]), [str(tmp_path / "nope.jsonl")], tmp_path / "out", spark=spark)
