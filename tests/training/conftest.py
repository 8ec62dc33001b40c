"""Fixtures of the training tests: real text tokenized with the embedded model's tokenizer, a tiny Llama."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DS_ACCELERATOR", "cpu")

TEXTS = [
    "The river rose for three days before the town council agreed to open the old spillway.",
    "Photosynthesis converts light energy into chemical energy stored in glucose molecules.",
    "In 1887 the first electric streetcar line opened in Richmond, Virginia, and within a decade "
    "hundreds of cities had followed.",
    "def add(a, b):\n    return a + b\n",
    "A prime number has exactly two divisors: one and itself. Seven is prime; nine is not.",
    "Bread rises because yeast ferments sugar and releases carbon dioxide into the dough.",
]

TINY_LLAMA = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2}


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from dataforge.core.models import embedded_llm_dir

    return AutoTokenizer.from_pretrained(str(embedded_llm_dir()))


@pytest.fixture(scope="session")
def documents(tokenizer):
    import numpy as np

    return [np.asarray(tokenizer(t)["input_ids"], dtype=np.uint32) for t in TEXTS]


@pytest.fixture(scope="session")
def tiny_model(tokenizer):
    from training.model import build_model
    from training.spec import Model

    return build_model(Model(config=TINY_LLAMA), len(tokenizer), 256, "sdpa", seed=0).eval()


# --- small source datasets and two real mixtures built from them (once per session) ---------------

WORDS = ("the river town council light energy glucose streetcar city prime number divisor bread yeast dough "
         "sugar model token stage data proof lemma sum product order train loss batch weight of and to in is "
         "that for on with as by a").split()


def _sentence(rng, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def _text(rng, lo: int, hi: int) -> str:
    return " ".join(_sentence(rng, rng.randint(5, 14)) for _ in range(rng.randint(lo, hi)))


def make_sources(root):
    """Three engine datasets: `generated` (walk lineage in metadata), `curated` (with a ledger) and
    `chat` (conversations), laid out as the generator and curation layers write them."""
    import random

    from dataforge.core import ChatRecord, Manifest, TextRecord
    from dataforge.core.io import write_table
    from dataforge.core.records import CHAT_SCHEMA, TEXT_SCHEMA

    rng = random.Random(7)
    gen_rows = []
    for i in range(60):
        meta = {"generator": {"graph": "facts", "graph_id": "g1", "seed": 1, "seed_doc_id": f"seed-{i % 7}",
                              "walk": {"id": f"gen-{i:03d}", "index": i, "path": ["topic", "draft", "rephrase"]},
                              "model": "smollm2-135m-instruct"}}
        gen_rows.append(TextRecord(_text(rng, 1, 6), id=f"gen-{i:03d}", source="facts", metadata=meta).to_row())
    cur_rows, ledger = [], []
    for i in range(90):
        rid = f"web-{i:03d}"
        if i % 10 == 9:  # dropped by curation: in the ledger, not in the data
            ledger.append({"input": f"web.jsonl:{i}", "id": rid, "source": "web", "step": "GopherQualityFilter",
                           "decision": "dropped", "reason": "gopher_short_doc", "cluster_id": None})
            continue
        cur_rows.append(TextRecord(_text(rng, 1, 12), id=rid, source="web").to_row())
        ledger.append({"input": f"web.jsonl:{i}", "id": rid, "source": "web", "step": None, "decision": "kept",
                       "reason": None, "cluster_id": None})
    chat_rows = []
    for i in range(40):
        msgs = [{"role": "user", "content": f"Question {i}: " + _sentence(rng, 8)},
                {"role": "assistant", "content": "ANSWER " + _sentence(rng, rng.randint(6, 20))}]
        chat_rows.append(ChatRecord(msgs, id=f"chat-{i:03d}", source="chat").to_row())
    import pyarrow as pa

    ledger_schema = pa.schema([("input", pa.string()), ("id", pa.string()), ("source", pa.string()),
                               ("step", pa.string()), ("decision", pa.string()), ("reason", pa.string()),
                               ("cluster_id", pa.string())])
    for name, rows, schema, kind in (("generated", gen_rows, TEXT_SCHEMA, "generated"),
                                     ("curated", cur_rows, TEXT_SCHEMA, "curated"),
                                     ("chat", chat_rows, CHAT_SCHEMA, "curated")):
        d = root / name
        write_table(rows, d / "data" / "part-00000.parquet", schema)
        if name == "curated":
            write_table(ledger, d / "ledger" / "part-00000.parquet", ledger_schema)
        Manifest.build(d, kind, {"made_by": "tests", "name": name}, counts={"records": len(rows)}).write(d)
    return root


@pytest.fixture(scope="session")
def built_mixtures(spark, tmp_path_factory):
    """Two mixture versions built with the mixtures layer: `pretrain` (stages stable at seq_len 64 and
    decay at seq_len 128) and `sft` (one SFT stage mixing chat and text). Returns (registry, ids)."""
    from dataforge.core.models import embedded_llm_dir
    from mixtures import Mixture, Source, Stage, build_mixture

    root = tmp_path_factory.mktemp("train-data")
    make_sources(root)
    registry = root / "registry"
    gen = Source("gen", path=str(root / "generated"), holdout_docs=4)
    web = Source("web", path=str(root / "curated"), holdout_docs=4)
    chat = Source("chat", path=str(root / "chat"), holdout_docs=4)
    tok = str(embedded_llm_dir())
    pretrain = Mixture(name="pretrain", tokenizer=tok, seed=11, stages=[
        Stage("stable", tokens=2400, seq_len=64, weights={web: 0.7, gen: 0.3}),
        Stage("decay", tokens=1200, seq_len=128, weights={web: 0.5, gen: 0.5})])
    sft = Mixture(name="sft", tokenizer=tok, seed=11, stages=[
        Stage("sft", tokens=1000, seq_len=128, weights={chat: 0.8, web: 0.2})])
    ids = {m.name: build_mixture(m, registry, spark=spark).id for m in (pretrain, sft)}
    return registry, ids
