"""The record contract: every kind and TRL format read by `forge curate` and written back as it came."""

from __future__ import annotations

import json

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.pipeline.filters import RegexFilter

from curation import Pipeline, run_pipeline
from curation.parse import parse_object
from dataforge.core.hashing import canonical_json, text_id
from dataforge.core.records import (
    ChatRecord,
    RecordError,
    check_messages,
    default_id,
    detect_kind,
    judged_text,
    parse_body,
    record_from_row,
    record_to_row,
    schema_of,
)
from jobs.cli import main

Q = [{"role": "user", "content": "What color is the sky?"}]
TOOL_CHAT = {
    "id": "tool-chat", "source": "agents", "metadata": {"split": "train"},
    "messages": [
        {"role": "system", "content": "You can call tools."},
        {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"},
                                     {"type": "image_url", "image_url": {"url": "https://x.test/a.png"}}]},
        {"role": "assistant", "content": None, "reasoning_content": "I should call the weather tool.",
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
        {"role": "tool", "content": "{\"temp\": 21}", "tool_call_id": "call_1", "name": "get_weather"},
        {"role": "assistant", "content": "It is 21 degrees.", "reasoning_content": "Report it."},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
                                                "parameters": {"type": "object",
                                                               "properties": {"city": {"type": "string"}},
                                                               "required": ["city"]}}}],
    "chat_template_kwargs": {"enable_thinking": True, "reasoning_effort": "high", "custom": [1, {"a": None}]},
}
# One record per layout, in TRL's column names; each in the contract's normal form already.
RECORDS = {
    "text": {"id": "t1", "source": "web", "metadata": {"lang": "en"}, "text": "The sky is blue."},
    "chat": TOOL_CHAT,
    "preference": {"id": "p1", "source": "dpo", "metadata": {}, "prompt": "The sky is", "chosen": " blue.",
                   "rejected": " green."},
    "preference_implicit": {"id": "p2", "source": "dpo", "metadata": {}, "chosen": "The sky is blue.",
                            "rejected": "The sky is green."},
    "preference_conversational": {
        "id": "p3", "source": "dpo", "metadata": {}, "prompt": Q,
        "chosen": [{"role": "assistant", "content": "It is blue."}],
        "rejected": [{"role": "assistant", "content": "It is green."}]},
    "preference_implicit_conversational": {
        "id": "p4", "source": "dpo", "metadata": {},
        "chosen": [*Q, {"role": "assistant", "content": "It is blue."}],
        "rejected": [*Q, {"role": "assistant", "content": "It is green."}]},
    "completion": {"id": "c1", "source": "sft", "metadata": {}, "prompt": "The sky is", "completion": " blue."},
    "completion_conversational": {"id": "c2", "source": "sft", "metadata": {"k": 1}, "prompt": Q,
                                  "completion": [{"role": "assistant", "content": "It is blue."}]},
}


def _jsonl(path, records: list[dict]):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _curated(root) -> dict[str, dict]:
    """Every record of a curated dataset's data/, by id, read back through the contract."""
    return {r["id"]: record_from_row(r) for f in sorted((root / "data").rglob("*.parquet"))
            for r in pq.read_table(f).to_pylist()}


@pytest.mark.parametrize("layout", sorted(RECORDS))
def test_every_layout_round_trips_through_parquet_unchanged(tmp_path, layout):
    rec = RECORDS[layout]
    got_layout, row = record_to_row(rec)
    assert got_layout == layout
    pq.write_table(pa.Table.from_pylist([row], schema=schema_of(layout)), tmp_path / "x.parquet")
    back = record_from_row(pq.read_table(tmp_path / "x.parquet").to_pylist()[0])
    assert canonical_json(back) == canonical_json(rec)


def test_curate_round_trips_every_kind_byte_for_byte(spark, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(canonical_json(r) + "\n" for r in RECORDS.values()), encoding="utf-8")
    result = run_pipeline(Pipeline(steps=[]), [str(src)], tmp_path / "out", spark=spark)
    assert result.manifest.counts["kept"] == len(RECORDS)
    assert result.manifest.counts["by_kind"] == {"chat": 1, "completion": 2, "preference": 4, "text": 1}
    back = _curated(result.out)
    for layout, rec in RECORDS.items():
        assert canonical_json(back[rec["id"]]) == canonical_json(rec), layout
        # each layout sits in its own folder, with exactly the columns TRL looks for
        names = pq.read_schema(next((result.out / "data" / layout).glob("*.parquet"))).names
        assert names == schema_of(layout).names
    # the curated Parquet, curated again, gives the same records (the contract reads its own form)
    again = run_pipeline(Pipeline(steps=[]), [str(result.out)], tmp_path / "again", spark=spark)
    assert {k: canonical_json(v) for k, v in _curated(again.out).items()} == \
        {k: canonical_json(v) for k, v in back.items()}


def test_trl_formats_load_in_forge_curate_and_datasets_as_written(spark, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in RECORDS.values()), encoding="utf-8")
    spec = tmp_path / "pipeline.py"
    spec.write_text("from datatrove.pipeline.filters import RegexFilter\n\n"
                    "pipeline = [RegexFilter(regex_exp='matches-no-record')]\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["curate", str(spec), "--input", str(src), "--out", str(out)]) == 0
    assert json.loads((out / "manifest.json").read_text())["counts"]["kept"] == len(RECORDS)
    for layout, rec in RECORDS.items():
        files = [str(f) for f in (out / "data" / layout).glob("*.parquet")]
        ds = datasets.load_dataset("parquet", data_files=files, split="train")
        row = ds[0]
        for col in ("text", "prompt", "chosen", "rejected", "completion"):
            if col in rec and isinstance(rec[col], str):
                assert row[col] == rec[col]  # standard form: plain strings
            elif col in rec:  # conversational form: lists of {role, content, ...} dicts
                assert [(m["role"], m["content"]) for m in row[col]] == [(m["role"], m["content"]) for m in rec[col]]
        if layout == "chat":
            assert row["messages"][2]["tool_calls"][0]["function"]["name"] == "get_weather"
            assert row["chat_template_kwargs"]["enable_thinking"] is True
            assert json.loads(row["tools"]) == rec["tools"]


def test_a_preference_record_is_judged_by_prompt_and_chosen(spark, tmp_path):
    src = _jsonl(tmp_path / "in.jsonl", [
        {"id": "bad-chosen", "prompt": "Say hi.", "chosen": "forbidden words", "rejected": "hi"},
        {"id": "bad-rejected", "prompt": "Say hi.", "chosen": "hi there", "rejected": "forbidden words"},
        {"id": "bad-completion", "prompt": "Say hi.", "completion": "forbidden"},
    ])
    result = run_pipeline(Pipeline(steps=[RegexFilter(regex_exp="forbidden")]), [str(src)], tmp_path / "out",
                          spark=spark)
    kept = _curated(result.out)
    assert sorted(kept) == ["bad-rejected"]  # the rejected answer is not judged
    assert kept["bad-rejected"]["rejected"] == "forbidden words"  # and it is kept whole


def test_a_row_with_text_and_messages_is_chat_and_keeps_its_text_in_metadata():
    obj = {"id": "both", "text": "a summary", "messages": Q}
    assert detect_kind(obj) == "chat"
    row = parse_object(obj, "f.jsonl")
    assert row["kind"] == "chat" and json.loads(row["metadata"]) == {"text": "a summary"}
    assert json.loads(row["record"]) == {"messages": Q}


def test_default_ids_are_content_hashes_of_the_kinds_fields():
    assert default_id("text", {"text": "x"}) == text_id("x")
    assert default_id("chat", {"messages": Q}) == text_id(canonical_json(Q)) == ChatRecord(Q).id
    pref = {"prompt": "p", "chosen": "a", "rejected": "b"}
    assert default_id("preference", pref) == text_id(canonical_json(pref))
    assert default_id("preference", pref) != default_id("preference", {**pref, "rejected": "c"})


def test_judged_text_rules():
    assert judged_text("chat", {"messages": TOOL_CHAT["messages"][:2]}) == \
        "You can call tools.\n\nWeather in Paris?"
    assert judged_text("preference", RECORDS["preference"]) == "The sky is\n\n blue."
    assert judged_text("completion", RECORDS["completion_conversational"]) == \
        "What color is the sky?\n\nIt is blue."


def test_messages_outside_the_schema_are_refused_with_a_reason():
    refused = [([{"role": "user", "content": "x", "audio": {}}], "unsupported_message_field"),
               ([{"role": "user", "content": None}], "bad_messages"),
               ([{"role": "user", "content": "x", "tool_calls": [{"function": {"name": "f"}}]}], "bad_tool_calls"),
               ([{"role": "bot", "content": "x"}], "bad_messages")]
    for bad, reason in refused:
        with pytest.raises(RecordError) as e:
            check_messages(bad)
        assert e.value.reason == reason
    with pytest.raises(RecordError, match="bad_preference"):
        parse_body({"chosen": "a", "rejected": Q})
    with pytest.raises(RecordError, match="no_text"):
        parse_body({"prompt": "only a prompt"})
