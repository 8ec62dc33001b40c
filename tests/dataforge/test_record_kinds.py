"""Every record kind made by the generator, curated, and read back: the contract's fields byte for byte.

The graphs are function nodes (no LLM), so the records are known: each seed document names a record of
tests/dataforge/core/test_records_contract.py, and the sink struct rebuilds it field by field.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from curation import Pipeline, run_pipeline
from dataforge import FunctionNode, Graph
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import canonical_json
from dataforge.core.manifest import Manifest
from dataforge.core.records import FIELDS, parse_body, record_from_row
from dataforge.job import GenerateOptions, run_generate
from tests.dataforge.core.test_records_contract import RECORDS

SPEC = '''
import json
from typing import Any
from dataforge import Document, FunctionNode, Graph, Message, Preference, PromptCompletion, Struct

RECORDS = json.loads({records!r})

class ToolChat(Struct):
    messages: list[Message]
    tools: list[dict[str, Any]] | None = None
    chat_template_kwargs: dict[str, Any] | None = None

class Text(Struct):
    text: str
    text_field = "text"

SINK = {{"text": Text, "chat": ToolChat, "preference": Preference, "completion": PromptCompletion}}[{kind!r}]

def build(doc):
    rec = RECORDS[doc.id]
    return SINK(**{{k: v for k, v in rec.items() if k not in ("id", "source", "metadata")}})

graph = Graph({kind!r}, Document, [FunctionNode("build", Document, SINK, build)])
seeds = [Document(id=k, text=k) for k in RECORDS]
'''


def _by_kind() -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for layout, rec in RECORDS.items():
        out.setdefault(parse_body(rec)[0], {})[layout] = rec
    return out


def _rows(root) -> list[dict]:
    return [record_from_row(r) for f in sorted((root / "data").rglob("*.parquet")) for r in pq.read_table(f).to_pylist()]


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    """One generated dataset per kind, and each curated with no steps."""
    root = tmp_path_factory.mktemp("kinds")
    out = {}
    for kind, records in _by_kind().items():
        spec = root / f"{kind}.py"
        spec.write_text(SPEC.format(records=json.dumps(records), kind=kind), encoding="utf-8")
        manifest, _ = run_generate(spec, root / f"gen-{kind}", GenerateOptions(partitions=2, use_cache=False))
        curated = run_pipeline(Pipeline(steps=[]), [str(root / f"gen-{kind}")], root / f"cur-{kind}", spark=spark)
        out[kind] = (manifest, root / f"gen-{kind}", curated.out, records)
    return out


@pytest.mark.parametrize("kind", ["text", "chat", "preference", "completion"])
def test_generated_records_carry_every_field_of_their_kind(generated, kind):
    manifest, gen, _, records = generated[kind]
    assert manifest.extra["record_kind"] == kind and manifest.counts["records"] == len(records)
    assert manifest.extra["layouts"] == sorted(records)
    rows = _rows(gen)
    want = sorted(canonical_json({k: r[k] for k in FIELDS[kind] if k in r}) for r in records.values())
    got = sorted(canonical_json({k: r[k] for k in FIELDS[kind] if k in r}) for r in rows)
    assert got == want  # tool calls, tool results, reasoning, tools and template kwargs included
    assert all(r["metadata"]["generator"]["graph"] == kind for r in rows)
    if len(records) > 1:  # several layouts: one folder each, as curation writes them
        assert sorted(p.name for p in (gen / "data").iterdir()) == sorted(records)


@pytest.mark.parametrize("kind", ["text", "chat", "preference", "completion"])
def test_curating_a_generated_dataset_keeps_every_record_byte_for_byte(generated, kind):
    _, gen, cur, _ = generated[kind]
    assert Manifest.read(cur).counts["kept"] == len(_rows(gen))
    assert sorted(map(canonical_json, _rows(cur))) == sorted(map(canonical_json, _rows(gen)))


def test_a_graph_whose_sinks_make_different_kinds_is_refused():
    from dataforge import Document, FunctionNode, Preference, PromptCompletion

    a = FunctionNode("a", Document, Preference, lambda d: Preference(chosen="x", rejected="y"))
    b = FunctionNode("b", Document, PromptCompletion, lambda d: PromptCompletion(prompt="x", completion="y"))
    with pytest.raises(ForgeError, match="make completion and preference records"):
        Graph("mixed", Document, [a, b])


def test_seeds_are_listed_by_the_contract_in_every_record_format(tmp_path):
    import gzip

    import pyarrow as pa

    from dataforge import Document
    from dataforge.spec import resolve_seeds

    rows = [{"id": "a", "text": "alpha"}, {"id": "b", "text": "beta"}]
    graph = Graph("seeds", Document, [FunctionNode("same", Document, Document, lambda d: d)])
    with gzip.open(tmp_path / "seeds.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "pq").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pq" / "part-0.parquet")
    (tmp_path / "pq" / "_SUCCESS").write_text("")
    for src in ("seeds.jsonl.gz", "pq"):
        got = resolve_seeds(src, graph, base=tmp_path)
        assert [(s.id, s.text) for s in got] == [("a", "alpha"), ("b", "beta")], src
    with pytest.raises(ForgeError, match="no seed records"):
        resolve_seeds(str(tmp_path / "pq" / "_SUCCESS"), graph)
