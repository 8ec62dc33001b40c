import json
import os
import socket
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from dataforge.core import ChatRecord, Manifest, TextRecord, atomic_dir, text_id
from dataforge.core.errors import ForgeError
from dataforge.core.io import read_table, write_table
from dataforge.core.records import CHAT_SCHEMA, TEXT_SCHEMA


def test_text_record_id_is_content_hash_only_without_input_id():
    assert TextRecord("hello").id == text_id("hello")
    assert TextRecord("hello", id="doc-7").id == "doc-7"
    assert TextRecord("hello").id != TextRecord("hello!").id


def test_chat_record_rejects_bad_messages_naming_the_index():
    with pytest.raises(ValueError, match=r"messages\[1\]"):
        ChatRecord([{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}])


def test_chat_records_read_back_by_datasets_and_chat_template(tmp_path):
    datasets = pytest.importorskip("datasets")
    rec = ChatRecord([{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
                     source="t", enable_thinking=False)
    write_table([rec.to_row()], tmp_path / "data" / "part-00000.parquet", CHAT_SCHEMA)
    ds = datasets.load_dataset("parquet", data_files=str(tmp_path / "data" / "*.parquet"), split="train")
    # every OpenAI/HF message field is a column of the struct; the ones a message lacks are null
    assert [{k: v for k, v in m.items() if v is not None} for m in ds[0]["messages"]] == rec.messages
    assert ds[0]["chat_template_kwargs"] == {"enable_thinking": False, "extra_json": None}
    assert ChatRecord.from_row(read_table(tmp_path).to_pylist()[0]) == rec


def _write_dataset(root, texts, config):
    rows = [TextRecord(t, source="s", metadata={"n": i}).to_row() for i, t in enumerate(texts)]
    write_table(rows, root / "data" / "part-00000.parquet", TEXT_SCHEMA)
    return Manifest.build(root, "corpus", config, counts={"records": len(rows)})


def test_manifest_id_depends_on_data_and_config_not_time(tmp_path):
    a = _write_dataset(tmp_path / "a", ["x", "y"], {"k": 1})
    b = _write_dataset(tmp_path / "b", ["x", "y"], {"k": 1})
    c = _write_dataset(tmp_path / "c", ["x", "z"], {"k": 1})
    d = _write_dataset(tmp_path / "d", ["x", "y"], {"k": 2})
    assert a.id == b.id
    assert len({a.id, c.id, d.id}) == 3
    (tmp_path / "a" / "README.md").write_text("a card is not data")
    assert Manifest.build(tmp_path / "a", "corpus", {"k": 1}).id == a.id


def test_manifest_roundtrip_and_tamper_detection(tmp_path):
    m = _write_dataset(tmp_path, ["x"], {})
    m.write(tmp_path)
    back = Manifest.read(tmp_path)
    assert back.id == m.id and back.files == m.files
    assert back.verify(tmp_path) == []
    part = tmp_path / "data" / "part-00000.parquet"
    part.write_bytes(part.read_bytes() + b"\0")
    assert back.verify(tmp_path) == ["data/part-00000.parquet"]


def test_manifest_read_errors_name_the_file(tmp_path):
    with pytest.raises(ForgeError, match="manifest.json"):
        Manifest.read(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ForgeError, match="unreadable manifest"):
        Manifest.read(tmp_path)


def test_atomic_dir_leaves_nothing_on_crash_and_replaces_on_success(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as tmp:
            (tmp / "half.txt").write_text("partial")
            raise RuntimeError("killed")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_dir(final) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"v": 1}))
    with pytest.raises(ForgeError, match="already exists"):  # replacing is asked for, never implied
        with atomic_dir(final) as tmp:
            (tmp / "manifest.json").write_text(json.dumps({"v": 2}))
    with atomic_dir(final, replace=True) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"v": 2}))
    assert json.loads((final / "manifest.json").read_text()) == {"v": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_dir_sweeps_only_leftovers_of_dead_runs(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    host = socket.gethostname()
    stale = tmp_path / f".out.tmp-{host}-{dead.stdout.strip()}-deadbeef"
    live = tmp_path / f".out.tmp-{host}-{os.getpid()}-0badcafe"
    unknown = tmp_path / ".out.tmp-123-deadbeef"  # no owner in the name: only the lock holder may remove it
    for d in (stale, live, unknown):
        d.mkdir()
        (d / "part").write_text("from another run")
    with atomic_dir(tmp_path / "out") as tmp:
        (tmp / "x").write_text("ok")
    assert not stale.exists() and live.is_dir() and unknown.is_dir()
    with atomic_dir(tmp_path / "out", replace=True, locked=True) as tmp:
        (tmp / "x").write_text("ok")
    assert live.is_dir() and not unknown.exists()


def test_parquet_written_twice_is_byte_identical(tmp_path):
    rows = [TextRecord(f"doc {i}").to_row() for i in range(50)]
    a = write_table(rows, tmp_path / "a.parquet", TEXT_SCHEMA)
    b = write_table(rows, tmp_path / "b.parquet", TEXT_SCHEMA)
    assert a.read_bytes() == b.read_bytes()
    assert pq.read_table(a).num_rows == 50
