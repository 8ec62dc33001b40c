"""Output folders are Hub-ready: a README.md card with standard front matter, and `datasets.load_dataset`
loads the kept records by default and every other table by config name, offline."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from dataforge.core.card import read_front_matter, size_category, write_card
from dataforge.core.manifest import Manifest

HUB_KEYS = {"configs", "license", "size_categories", "tags", "pretty_name"}


def load(path: Path, name: str | None = None):
    from datasets import load_dataset

    return load_dataset(str(path), name, split="train", cache_dir=str(path.parent / f".hf-{path.name}"))


def parquet_rows(folder: Path) -> int:
    return sum(pq.read_metadata(f).num_rows for f in folder.rglob("*.parquet"))


def front(path: Path) -> dict:
    text = (path / "README.md").read_text("utf-8")
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta == read_front_matter(path / "README.md")
    return meta


def config_names(meta: dict) -> list[str]:
    return [c["config_name"] for c in meta["configs"]]


@pytest.mark.parametrize("n, label", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (12_345, "10K<n<100K"),
                                      (10**6, "1M<n<10M"), (10**13, "n>1T")])
def test_size_category_uses_the_hub_buckets(n, label):
    assert size_category(n) == label


# ---------------------------------------------------------------- curated


CURATE_SPEC = """\
from curation import ExactDedup, LanguageFilter

pipeline = [ExactDedup(), LanguageFilter(languages=["en"], threshold=0.3)]
"""


@pytest.fixture(scope="module")
def curated(spark, tmp_path_factory):
    from curation import as_pipeline, run_pipeline
    from dataforge.core.specs import load_spec

    root = tmp_path_factory.mktemp("card-curated")
    spec = root / "pipe.py"
    spec.write_text(CURATE_SPEC)
    lines = [json.dumps({"text": f"The cat number {i} sat on the warm mat and slept all afternoon."})
             for i in range(6)]
    lines += [lines[0], lines[1], "{not json", json.dumps({"text": "Le chat est sur le tapis et il dort bien."})]
    inp = root / "in.jsonl"
    inp.write_text("\n".join(lines) + "\n")
    out = root / "curated"
    run_pipeline(as_pipeline(load_spec(spec, "pipeline")), [str(inp)], out, spark=spark)
    return out


def test_curated_card_has_hub_front_matter_with_one_config_per_table(curated):
    meta = front(curated)
    m = Manifest.read(curated)
    assert HUB_KEYS <= set(meta)
    assert config_names(meta) == ["default", "dropped", "quarantine", "ledger"]
    assert meta["configs"][0]["data_files"] == [{"split": "train", "path": "data/*.parquet"}]
    assert meta["license"] == "unknown" and meta["language"] == ["en"]
    assert meta["size_categories"] == ["n<1K"] and meta["task_categories"] == ["text-generation"]
    assert meta["tags"][:2] == ["dataforge", "curated"]
    body = (curated / "README.md").read_text()
    assert m.id in body and "## Lineage" in body and "## Counts" in body
    assert "README.md" not in m.files  # the card is not part of the id


def test_load_dataset_on_a_curated_folder_loads_kept_records_and_each_named_table(curated):
    m = Manifest.read(curated)
    kept = load(curated)
    assert kept.num_rows == m.counts["kept"] == parquet_rows(curated / "data") > 0
    assert {"id", "text", "source"} <= set(kept.column_names)
    assert load(curated, "dropped").num_rows == m.counts["dropped"] > 0
    assert load(curated, "quarantine").num_rows == m.counts["quarantined"] > 0
    ledger = load(curated, "ledger")
    assert ledger.num_rows == m.counts["input"]
    assert sorted(set(ledger["decision"])) == ["dropped", "kept", "quarantined"]


# ---------------------------------------------------------------- generated


GENERATE_SPEC = '''\
from dataforge import Document, FilterNode, FunctionNode, Graph, Struct
from dataforge.nodes.base import Quarantined


class Shout(Struct):
    id: str
    text: str
    loud: str


def shout(d):
    if "broken" in d.text:
        return Quarantined("broken_seed")
    return {"loud": d.text.upper()}


graph = Graph("shout", Document, [FunctionNode("shout", Document, Shout, shout),
                                  FilterNode("long", Shout, lambda s: len(s.loud) > 12, reason="too_short")])
seeds = [Document(id="a", text="a long enough sentence"), Document(id="b", text="short"),
         Document(id="c", text="this one is broken"), Document(id="d", text="another long sentence")]
walks = 8
'''


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    from dataforge.job import GenerateOptions, run_generate

    root = tmp_path_factory.mktemp("card-generated")
    spec = root / "shout.py"
    spec.write_text(GENERATE_SPEC)
    run_generate(spec, root / "gen", GenerateOptions(partitions=1, use_cache=False))
    return root / "gen"


def test_generated_card_and_load_dataset_cover_records_dropped_and_quarantine(generated):
    m = Manifest.read(generated)
    meta = front(generated)
    assert HUB_KEYS <= set(meta) and "language" not in meta
    assert config_names(meta)[:3] == ["default", "dropped", "quarantine"]
    assert meta["tags"][:2] == ["dataforge", "generated"]
    kept = load(generated)
    assert kept.num_rows == m.counts["records"] > 0
    assert kept.num_rows == parquet_rows(generated / "data") and {"id", "text", "metadata"} <= set(kept.column_names)
    assert all("LONG" in t.upper() for t in kept["text"])
    assert load(generated, "dropped").num_rows == m.counts["dropped"] > 0
    quarantined = load(generated, "quarantine")
    assert quarantined.num_rows == m.counts["quarantined"] > 0
    assert set(quarantined["reason"]) == {"broken_seed"}


# ---------------------------------------------------------------- run and classifier folders


def test_a_run_folder_card_makes_metrics_the_default_config(tmp_path):
    from training.runinfo import write_run_manifest
    from training.spec import Model, Run

    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / "model" / "config.json").write_text("{}")
    (run / "checkpoints").mkdir()
    (run / "metrics.jsonl").write_text("".join(json.dumps({"step": i, "loss": 3.0 - i / 10}) + "\n"
                                               for i in range(5)))
    spec = Run(name="tiny", mixture="m", model=Model(config={"model_type": "llama"}))
    m = write_run_manifest(run, spec, "mixture-id", steps=5, complete=True, stage_losses=[])
    meta = front(run)
    assert config_names(meta) == ["default"] and meta["size_categories"] == ["n<1K"]
    assert meta["pretty_name"] == "tiny" and meta["tags"] == ["dataforge", "run"]
    body = (run / "README.md").read_text()
    assert "# Training run `tiny`" in body and "`mixture-id`" in body and "README.md" not in m.files
    assert load(run)["loss"][:2] == [3.0, 2.9]


def test_secrets_in_a_config_never_reach_the_card(tmp_path):
    d = tmp_path / "d"
    (d / "data").mkdir(parents=True)
    m = Manifest.build(d, "curated", {"name": "x", "api_key": "sk-secret-123456",
                                      "url": "https://user:hunter2pass@host/v1"}, counts={"records": 0})
    write_card(d, m)
    text = (d / "README.md").read_text()
    assert "sk-secret-123456" not in text and "hunter2pass" not in text and "<redacted>" in text


def test_a_classifier_folder_loads_its_per_label_table(tmp_path):
    from curation import train_classifier

    pos = tmp_path / "pos.txt"
    neg = tmp_path / "neg.txt"
    pos.write_text("".join(f"a careful well written sentence about topic {i}\n" for i in range(12)))
    neg.write_text("".join(f"buy now cheap click here {i} !!!\n" for i in range(10)))
    m = train_classifier([pos], [neg], tmp_path / "clf")
    meta = front(tmp_path / "clf")
    assert config_names(meta) == ["default"] and meta["tags"] == ["dataforge", "classifier"]
    labels = load(tmp_path / "clf")
    assert labels["label"] == ["hq", "lq"] and labels["read"] == [12, 10]
    assert sum(labels["train"]) + sum(labels["validation"]) == m.counts["train"] + m.counts["validation"]
    assert "labels.jsonl" in m.files and "README.md" not in m.files


def test_a_folder_without_tables_gets_a_card_that_says_so(tmp_path):
    clf = tmp_path / "clf"
    clf.mkdir()
    (clf / "model.bin").write_bytes(b"\0" * 8)
    m = Manifest.build(clf, "classifier", {"dim": 4}, counts={"train": 3})
    write_card(clf, m)
    meta = front(clf)
    assert meta["configs"] == [] and meta["tags"] == ["dataforge", "classifier"]
    assert "no record table" in (clf / "README.md").read_text()


def test_a_curated_folder_with_both_record_kinds_loads_text_by_default_and_chat_by_name(tmp_path):
    from dataforge.core import ChatRecord, TextRecord
    from dataforge.core.io import write_table
    from dataforge.core.records import CHAT_SCHEMA, TEXT_SCHEMA

    d = tmp_path / "mixed"
    write_table([TextRecord("plain words", id="t1").to_row()], d / "data" / "text" / "part-00000.parquet",
                TEXT_SCHEMA)
    chats = [ChatRecord([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
                        id=f"c{i}").to_row() for i in range(2)]
    write_table(chats, d / "data" / "chat" / "part-00000.parquet", CHAT_SCHEMA)
    m = Manifest.build(d, "curated", {"steps": []}, counts={"records": 3, "by_kind": {"chat": 2, "text": 1}})
    write_card(d, m)
    assert config_names(front(d)) == ["default", "chat"] and front(d)["tags"] == ["dataforge", "curated", "chat", "text"]
    assert load(d)["id"] == ["t1"]
    assert load(d, "chat")["messages"][1][1]["content"] == "hello"


def test_front_matter_values_are_quoted_safely(tmp_path):
    d = tmp_path / "d"
    (d / "data").mkdir(parents=True)
    m = Manifest.build(d, "curated", {"name": textwrap.dedent("weird: name\n- with [yaml] #chars")},
                       counts={"records": 0})
    write_card(d, m)
    assert front(d)["pretty_name"] == "weird: name\n- with [yaml] #chars"
