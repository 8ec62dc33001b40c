"""Small source datasets made here, shared by the mixtures tests (built once per session)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dataforge.core import ChatRecord, Manifest, TextRecord
from dataforge.core.io import write_table
from dataforge.core.records import CHAT_SCHEMA, TEXT_SCHEMA

WORDS = ("data model token stage mixture spark shard curated web math proof lemma train loss batch source "
         "weight epoch piece sequence document order seed hash manifest lineage ledger cluster the a of and "
         "to in is that for on with as by").split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def text_rows(name: str, n: int, lo: int, hi: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [TextRecord(sentence(rng, rng.randint(lo, hi)), id=f"{name}-{i:04d}", source=name).to_row()
            for i in range(n)]


def engine_dataset(root: Path, rows: list[dict], kind: str = "text") -> Path:
    """A dataset dir as the engine writes it: data/part-00000.parquet plus manifest.json."""
    write_table(rows, root / "data" / "part-00000.parquet", TEXT_SCHEMA if kind == "text" else CHAT_SCHEMA)
    Manifest.build(root, "curated", {"made_by": "tests", "name": root.name}, counts={"records": len(rows)}).write(root)
    return root


def chat_rows(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        msgs = [{"role": "user", "content": f"Question {i}: " + sentence(rng, rng.randint(4, 12))},
                {"role": "assistant", "content": f"ANSWER {i}: " + sentence(rng, rng.randint(6, 30))}]
        if i % 3 == 0:
            msgs += [{"role": "user", "content": "And then? " + sentence(rng, 5)},
                     {"role": "assistant", "content": "THEN " + sentence(rng, rng.randint(5, 20))}]
        rows.append(ChatRecord(msgs, id=f"chat-{i:04d}", source="chat").to_row())
    # Records that cannot be trained on: they must be quarantined with a reason, not dropped.
    rows.append(ChatRecord([{"role": "user", "content": "nobody answers"}], id="chat-noanswer").to_row())
    return rows


@pytest.fixture(scope="session")
def tokenizer_dir() -> Path:
    from dataforge.core.models import embedded_llm_dir

    return embedded_llm_dir()


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> Path:
    """curated/web, curated/math (engine datasets), curated/chat (chat records) and long/ (plain JSONL)."""
    root = tmp_path_factory.mktemp("mixdata")
    engine_dataset(root / "curated" / "web", text_rows("web", 150, 40, 300, seed=1))
    engine_dataset(root / "curated" / "math", text_rows("math", 40, 20, 90, seed=2))
    engine_dataset(root / "curated" / "chat", chat_rows(60, seed=3), kind="chat")
    rng = random.Random(4)
    long_dir = root / "long"
    long_dir.mkdir()
    with open(long_dir / "docs.jsonl", "w") as f:
        # One document of ~25 pieces at seq_len 64 among many short ones; no ids: they come from the text.
        f.write(json.dumps({"text": " ".join(sentence(rng, 12) for _ in range(110))}) + "\n")
        for _ in range(400):
            f.write(json.dumps({"text": sentence(rng, rng.randint(5, 40))}) + "\n")
        f.write(json.dumps({"text": "Repeated line."}) + "\n")  # twice: one copy is quarantined
        f.write(json.dumps({"text": "Repeated line."}) + "\n")
    return root


# The example, verbatim but for smaller budgets and a real tokenizer folder.
EXAMPLE = '''\
from mixtures import Mixture, Stage, Source
web = Source("web", path="curated/web")           # a curated dataset dir, or a manifest id
math = Source("math", path="curated/math", max_epochs=4)
mixture = Mixture(
    name="demo", tokenizer="{tokenizer}", seed=1234,
    stages=[Stage("stable", tokens={stable}, seq_len=2048, weights={{web: 0.9, math: 0.1}}),
            Stage("decay", tokens={decay}, seq_len=2048, weights={{web: 0.6, math: 0.4}})],
)
'''


def _write_example(path: Path, tokenizer: Path, stable: int = 20_000, decay: int = 5_000) -> Path:
    path.write_text(EXAMPLE.format(tokenizer=tokenizer, stable=stable, decay=decay))
    return path


@pytest.fixture(scope="session")
def write_example():
    """Write the issue's example spec: write_example(path, tokenizer_dir, stable=..., decay=...)."""
    return _write_example


@pytest.fixture(scope="session")
def example(spark, data_root, tokenizer_dir, tmp_path_factory):
    """The issue's example built through `forge mix build` (in process, local Spark) into a fresh registry."""
    from jobs.cli import main as forge

    reg = tmp_path_factory.mktemp("registry")
    spec = _write_example(data_root / "mixture.py", tokenizer_dir)
    assert forge(["mix", "build", str(spec), "--registry", str(reg)]) == 0
    (entry,) = [p for p in reg.iterdir() if (p / "manifest.json").is_file()]
    return {"id": entry.name, "registry": reg, "spec": spec}
