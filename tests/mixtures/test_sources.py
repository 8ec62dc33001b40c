import json

import pytest

from dataforge.core.errors import ForgeError
from dataforge.core.manifest import Manifest
from mixtures import Source
from mixtures.sources import resolve_source


def test_manifest_id_resolves_beside_the_spec_and_on_forge_data_path(data_root, tmp_path, monkeypatch):
    web = data_root / "curated" / "web"
    mid = Manifest.read(web).id
    spec_dir = data_root / "specs"
    spec_dir.mkdir(exist_ok=True)
    # The spec's parent holds curated/web two levels down: found by full id and by prefix.
    assert resolve_source(Source("web", path=mid), spec_dir=spec_dir).path == str(web.resolve())
    assert resolve_source(Source("web", path=mid[:10]), spec_dir=spec_dir).manifest_id == mid
    with pytest.raises(ForgeError, match="no dataset with that manifest id"):
        resolve_source(Source("web", path=mid), spec_dir=tmp_path)
    monkeypatch.setenv("FORGE_DATA_PATH", str(data_root / "curated"))
    resolved = resolve_source(Source("web", path=mid), spec_dir=tmp_path)
    assert (resolved.kind, resolved.format, resolved.has_manifest) == ("text", "parquet", True)


def test_relative_paths_resolve_beside_the_spec_first(data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_source(Source("math", path="curated/math"), spec_dir=data_root).path == \
        str((data_root / "curated" / "math").resolve())
    with pytest.raises(ForgeError, match=r"source math: path 'curated/math' not found \(looked at "):
        resolve_source(Source("math", path="curated/math"), spec_dir=tmp_path)


def test_changed_or_unusable_sources_are_refused_naming_the_file(data_root, tmp_path):
    import shutil

    copy = tmp_path / "web"
    shutil.copytree(data_root / "curated" / "web", copy)
    (copy / "data" / "part-00000.parquet").write_bytes(b"not parquet any more")
    with pytest.raises(ForgeError, match=r"data/part-00000\.parquet does not match its manifest sha256"):
        resolve_source(Source("web", path=str(copy)))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ForgeError, match="no Parquet or JSONL files"):
        resolve_source(Source("e", path=str(tmp_path / "empty")))
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.jsonl").write_text(json.dumps({"body": "no text field"}) + "\n")
    with pytest.raises(ForgeError, match=r"x\.jsonl: records need a 'text', 'messages' or 'prompt'\+'completion' field"):
        resolve_source(Source("b", path=str(bad)))


def test_a_dataset_holding_text_and_chat_feeds_one_source_per_kind(tmp_path):
    from dataforge.core.io import write_table
    from dataforge.core.records import CHAT_SCHEMA, TEXT_SCHEMA

    from .conftest import chat_rows, text_rows

    root = tmp_path / "curated"
    write_table(text_rows("web", 5, 5, 10, seed=1), root / "data" / "text" / "part-00000.parquet", TEXT_SCHEMA)
    write_table(chat_rows(5, seed=2), root / "data" / "chat" / "part-00000.parquet", CHAT_SCHEMA)
    Manifest.build(root, "curated", {"t": 1}).write(root)
    with pytest.raises(ForgeError, match="holds both text and chat records; set Source.kind"):
        resolve_source(Source("all", path=str(root)))
    chat = resolve_source(Source("sft", path=str(root), kind="chat"))
    text = resolve_source(Source("web", path=str(root), kind="text"))
    assert (chat.kind, text.kind) == ("chat", "text")
    assert [p.split("/data/")[1] for p in chat.files + text.files] == ["chat/part-00000.parquet",
                                                                       "text/part-00000.parquet"]
    assert chat.manifest_id == text.manifest_id == Manifest.read(root).id
    with pytest.raises(ForgeError, match=r"Source.kind='chat' but the dataset holds only text"):
        resolve_source(Source("x", path=str(root / "data" / "text"), kind="chat"))


def test_preference_sources_are_refused_and_a_completion_source_holds_one_form(tmp_path):
    from dataforge.core.io import write_table
    from dataforge.core.records import record_to_row, schema_of

    pref = tmp_path / "pref"
    pref.mkdir()
    (pref / "p.jsonl").write_text(json.dumps({"prompt": "2+2?", "chosen": "4", "rejected": "5"}) + "\n")
    with pytest.raises(ForgeError, match=r"holds preference records, which a mixture cannot train on yet"):
        resolve_source(Source("p", path=str(pref)))
    both = tmp_path / "both"
    plain = {"id": "a", "source": "", "metadata": {}, "prompt": "Say hi:", "completion": " hi"}
    conv = {"id": "b", "source": "", "metadata": {}, "prompt": [{"role": "user", "content": "Say hi"}],
            "completion": [{"role": "assistant", "content": "hi"}]}
    for rec in (plain, conv):
        layout, row = record_to_row(rec)
        write_table([row], both / f"{layout}.parquet", schema_of(layout))
    with pytest.raises(ForgeError, match=r"both the standard \(string\) and the conversational form; give one Source"):
        resolve_source(Source("c", path=str(both)))
    (both / "completion_conversational.parquet").unlink()
    assert resolve_source(Source("c", path=str(both))).kind == "completion"
