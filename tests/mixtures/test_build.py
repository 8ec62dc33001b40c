"""End-to-end builds with the session's local Spark: the issue's example, identity, the hand-off."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dataforge.core.errors import ForgeError
from dataforge.core.manifest import Manifest
from jobs.cli import main as forge
from mixtures import Mixture, Source, Stage, build_mixture, open_mixture, realized_weight_error
from mixtures.diff import diff_manifests


def example_mixture(data_root, tokenizer_dir, weights=(0.9, 0.1)) -> Mixture:
    web = Source("web", path=str(data_root / "curated" / "web"))
    math = Source("math", path=str(data_root / "curated" / "math"), max_epochs=4)
    return Mixture(name="demo", tokenizer=str(tokenizer_dir), seed=1234,
                   stages=[Stage("stable", tokens=20_000, seq_len=2048, weights={web: weights[0], math: weights[1]}),
                           Stage("decay", tokens=5_000, seq_len=2048, weights={web: 0.6, math: 0.4})])


def test_example_from_issue_builds_as_written(example, data_root):
    mx = open_mixture(example["id"], example["registry"])
    assert [(s.name, s.tokens, s.seq_len, s.sft) for s in mx.stages] == [("stable", 20_000, 2048, False),
                                                                         ("decay", 5_000, 2048, False)]
    assert realized_weight_error(mx.manifest) <= 0.005
    for st in mx.stages:
        assert sum(len(p.tokens) for p in st) == st.tokens
        assert all(p.tokens.dtype == np.uint32 and len(p.tokens) <= st.seq_len and p.loss_mask is None for p in st)
    src = mx.manifest.extra["sources"]["math"]
    assert src["kind"] == "text" and src["manifest_id"] == Manifest.read(data_root / "curated" / "math").id
    assert Path(src["path"]) == (data_root / "curated" / "math").resolve()
    assert sorted(mx.manifest.parents) == sorted(s["manifest_id"] for s in mx.manifest.extra["sources"].values())
    decay_math = mx.manifest.extra["stages"][1]["sources"]["math"]
    assert decay_math["target_weight"] == 0.4 and decay_math["epochs"] > 0
    import yaml

    card = (mx.path / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["id"] == mx.id and front["stages"][1]["weights"]["math"]["target"] == 0.4
    assert "## Stage `decay`" in card
    assert (mx.path / "weights.png").read_bytes()[:4] == b"\x89PNG"
    assert mx.load_tokenizer().decode(mx.stages[0].piece(0).tokens[:5].tolist())


def test_load_dataset_on_a_mixture_loads_its_piece_index_and_each_stage(example, tmp_path):
    import yaml
    from datasets import load_dataset

    mx = open_mixture(example["id"], example["registry"])
    card = (mx.path / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert {"license", "size_categories", "task_categories", "tags", "configs"} <= set(front)
    names = [c["config_name"] for c in front["configs"]]
    assert names[:3] == ["default", "stage-stable", "stage-decay"] and "validation" in names
    pieces = load_dataset(str(mx.path), split="train", cache_dir=str(tmp_path / "hf"))
    assert pieces.num_rows == mx.manifest.counts["pieces"] == sum(st.num_pieces for st in mx.stages)
    decay = load_dataset(str(mx.path), "stage-decay", split="train", cache_dir=str(tmp_path / "hf"))
    assert decay.num_rows == mx.stages[1].num_pieces and set(decay["source"]) == {"web", "math"}
    # the exported copy holds the same tables, and every shard byte for byte
    assert forge(["export", str(mx.path), "--to", str(tmp_path / "up")]) == 0
    copied = sorted(p.relative_to(tmp_path / "up").as_posix() for p in (tmp_path / "up").rglob("*") if p.is_file())
    assert copied == sorted([*mx.manifest.files, "README.md", "weights.png", "manifest.json"])
    again = load_dataset(str(tmp_path / "up"), "stage-decay", split="train", cache_dir=str(tmp_path / "hf2"))
    assert again["doc_id"] == decay["doc_id"]


def test_pieces_are_the_source_tokens_at_their_offsets(example, data_root):
    from transformers import AutoTokenizer

    mx = open_mixture(example["id"], example["registry"])
    tok = AutoTokenizer.from_pretrained(str(mx.tokenizer_path))
    texts = {r["id"]: r["text"] for r in pq.read_table(data_root / "curated" / "web" / "data").to_pylist()}
    stage = mx.stages[0]
    for i in range(0, stage.num_pieces, 7):
        p = stage.piece(i)
        if p.source != "web":
            continue
        full = tok(texts[p.doc_id], add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        assert p.tokens.tolist() == full[p.doc_start:p.doc_start + len(p.tokens)]


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_same_inputs_give_same_id_and_bytes_whatever_the_partitioning(example, spark, data_root, tokenizer_dir,
                                                                       tmp_path, partitions):
    again = build_mixture(example_mixture(data_root, tokenizer_dir), tmp_path / "reg", spark=spark,
                          partitions=partitions)
    assert again.built and again.id == example["id"]
    first = Manifest.read(example["registry"] / example["id"])
    second = Manifest.read(again.path)
    assert first.files == second.files and any(f.endswith(".u32") for f in first.files)
    for rel in first.files:
        assert (again.path / rel).read_bytes() == (example["registry"] / example["id"] / rel).read_bytes()
    # Python worker processes wrote the shards, not this driver; no task's temporary file is left over.
    assert again.writers and all(int(w.rsplit(":", 1)[1]) != os.getpid() for w in again.writers)
    assert not [p for p in again.path.rglob("*") if ".part-" in p.name]


def test_building_an_existing_id_is_a_noop(example, spark, data_root, tokenizer_dir):
    before = Manifest.read(example["registry"] / example["id"])
    result = build_mixture(example_mixture(data_root, tokenizer_dir), example["registry"], spark=spark)
    assert (result.id, result.built) == (example["id"], False)
    assert Manifest.read(result.path).created_at == before.created_at


def test_changed_weight_gives_new_id_and_diff_reports_it(example, spark, data_root, tokenizer_dir, capsys):
    other = build_mixture(example_mixture(data_root, tokenizer_dir, (0.8, 0.2)), example["registry"], spark=spark)
    assert other.built and other.id != example["id"]
    a, b = Manifest.read(example["registry"] / example["id"]), Manifest.read(other.path)
    changes = {(c.where, c.what): (c.a, c.b) for c in diff_manifests(a, b)}
    assert changes[("stage stable", "web.target_weight")] == (0.9, 0.8)
    assert changes[("stage stable", "math.tokens")] == (2000, 4000)
    assert not any(w == "stage decay" and "target_weight" in what for w, what in changes)
    assert diff_manifests(a, a) == []
    capsys.readouterr()
    assert forge(["mix", "diff", example["id"], other.id[:10], "--registry", str(example["registry"])]) == 0
    out = capsys.readouterr().out
    assert "web.target_weight" in out and "-0.1000" in out
    assert forge(["mix", "list", "--registry", str(example["registry"])]) == 0
    listed = capsys.readouterr().out
    assert example["id"] in listed and other.id in listed
    assert forge(["mix", "show", other.id, "--registry", str(example["registry"])]) == 0
    shown = capsys.readouterr().out
    assert "stage stable" in shown and "0.8000" in shown
    assert forge(["mix", "show", other.id, "--registry", str(example["registry"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["extra"]["stages"][0]["sources"]["web"]["target_weight"] == 0.8


def test_tampered_shard_is_refused_naming_the_file(example, tmp_path):
    entry = tmp_path / example["id"]
    shutil.copytree(example["registry"] / example["id"], entry)
    shard = entry / "stages" / "01-decay" / "tokens-00000.u32"
    os.chmod(shard, 0o644)
    original = shard.read_bytes()
    data = bytearray(original)
    data[40] ^= 1
    shard.write_bytes(bytes(data))
    with pytest.raises(ForgeError, match=r"stages/01-decay/tokens-00000\.u32: sha256 does not match"):
        open_mixture(entry)
    shard.write_bytes(original)
    assert open_mixture(entry).id == example["id"]
    manifest = entry / "manifest.json"
    os.chmod(manifest, 0o644)
    raw = json.loads(manifest.read_text())
    raw["config"]["stages"][0]["weights"] = {"web": 0.5, "math": 0.5}
    manifest.write_text(json.dumps(raw))
    with pytest.raises(ForgeError, match="do not hash to id"):
        open_mixture(entry)


def test_open_hashes_each_file_once_per_machine_and_refuses_one_changed_since(example, tmp_path, capsys):
    from mixtures.verify import record_path, verify_files

    entry = tmp_path / example["id"]
    shutil.copytree(example["registry"] / example["id"], entry)
    manifest = Manifest.read(entry)
    record_path(manifest.id).unlink(missing_ok=True)
    assert verify_files(entry, manifest) == ([], len(manifest.files))  # first open: every file in full
    assert verify_files(entry, manifest) == ([], 0)  # then O(files): nothing hashed again
    assert open_mixture(entry).id == example["id"]
    shard = entry / "stages" / "00-stable" / "tokens-00000.u32"
    os.chmod(shard, 0o644)
    data = bytearray(shard.read_bytes())
    data[8] ^= 1
    shard.write_bytes(bytes(data))  # rewritten in place: a new stamp, so it is hashed and refused
    assert verify_files(entry, manifest) == (["stages/00-stable/tokens-00000.u32"], 1)
    with pytest.raises(ForgeError, match=r"00-stable/tokens-00000\.u32: sha256 does not match"):
        open_mixture(entry)
    data[8] ^= 1
    shard.write_bytes(bytes(data))
    assert forge(["mix", "verify", str(entry)]) == 0  # the full check on demand
    out = capsys.readouterr()
    assert out.out.strip() == example["id"] and f"{len(manifest.files)} file(s) match" in out.err


def test_registry_comes_from_env_and_entries_are_read_only(example, monkeypatch):
    shard = example["registry"] / example["id"] / "stages" / "00-stable" / "tokens-00000.u32"
    assert not shard.stat().st_mode & 0o222
    assert open_mixture(example["id"][:8], example["registry"]).id == example["id"]
    with pytest.raises(ForgeError, match="not a mixture id"):
        open_mixture("../../etc", example["registry"])
    with pytest.raises(ForgeError, match="not found in registry"):
        open_mixture("0" * 32, example["registry"])
    monkeypatch.setenv("FORGE_REGISTRY", str(example["registry"]))
    assert open_mixture(example["id"]).path == example["registry"] / example["id"]
    monkeypatch.delenv("FORGE_REGISTRY")
    monkeypatch.chdir(example["registry"].parent)
    with pytest.raises(ForgeError, match=f"not found in registry {example['registry'].parent / 'registry'}"):
        open_mixture(example["id"])


def test_epoch_cap_error_names_source_stage_and_cap(spark, data_root, tokenizer_dir, tmp_path, capsys,
                                                     write_example):
    spec = write_example(tmp_path / "greedy.py", tokenizer_dir, stable=20_000, decay=40_000)
    # Relative source paths resolve beside the spec file, so point them at the shared data.
    spec.write_text(spec.read_text().replace('"curated/', f'"{data_root}/curated/'))
    assert forge(["mix", "build", str(spec), "--registry", str(tmp_path / "reg")]) == 2
    err = capsys.readouterr().err
    assert "source math needs" in err and "epochs in stage decay, max_epochs=4" in err
    assert not (tmp_path / "reg").exists() or not any((tmp_path / "reg").iterdir())


def test_missing_source_path_is_one_line(tmp_path, tokenizer_dir, capsys):
    spec = tmp_path / "m.py"
    spec.write_text(textwrap.dedent(f"""
        from mixtures import Mixture, Stage, Source
        mixture = Mixture(name="x", tokenizer="{tokenizer_dir}",
                          stages=[Stage("s", tokens=10, weights={{Source("web", path="nowhere/web"): 1.0}})])
    """))
    assert forge(["mix", "build", str(spec), "--registry", str(tmp_path / "reg")]) == 2
    err = capsys.readouterr().err
    assert "source web: path 'nowhere/web' not found" in err and "Traceback" not in err


def test_stage_index_is_memory_mapped_and_doc_ids_are_read_only_when_asked(example, monkeypatch, tmp_path):
    import mixtures.loader as loader
    from mixtures.format import INDEX_ARRAY_FILE, INDEX_COLUMNS

    mx = open_mixture(example["id"], example["registry"])
    folder = mx.path / mx.manifest.extra["stages"][0]["dir"]
    index = pq.read_table(folder / "index.parquet")
    reads = []
    real = loader.pq.read_table
    monkeypatch.setattr(loader.pq, "read_table", lambda *a, **k: reads.append(k.get("columns")) or real(*a, **k))
    st = open_mixture(example["id"], example["registry"]).stages[0]
    lengths = st.lengths()
    assert isinstance(lengths, np.memmap) and not lengths.flags.writeable and len(lengths) == st.num_pieces
    first = st.piece(0)
    assert len(first.tokens) == lengths[0] and first.source in {"web", "math"} and reads == []
    assert first.doc_id == index.column("doc_id")[0].as_py() and reads == [["doc_id"]]
    raw = np.load(folder / INDEX_ARRAY_FILE)  # plain numpy reads it as mixtures/format.py describes
    assert raw.dtype == np.dtype("<i8") and raw.shape == (len(INDEX_COLUMNS), st.num_pieces)
    assert raw[INDEX_COLUMNS.index("offset")].tolist() == index.column("offset").to_pylist()
    info = dict(mx.manifest.extra["stages"][0])
    assert f"{info['dir']}/{INDEX_ARRAY_FILE}" in mx.manifest.files  # hashed into the id like every shard
    old = tmp_path / info["dir"]  # a mixture of the previous format: index.parquet only
    shutil.copytree(mx.path / info["dir"], old)
    (old / INDEX_ARRAY_FILE).unlink()
    with pytest.raises(ForgeError, match="rebuild it with `forge mix build`"):
        loader.PieceSet(tmp_path, info, set(), sorted(mx.sources)).lengths()
