"""Every record kind made by the generator, curated, mixed: the contract's fields byte for byte.

The graphs are function nodes (no LLM), so the records are known: each seed document names a record
below (tool calls, tool results, reasoning, tools and template kwargs included), and the sink struct
rebuilds it field by field. Each seed is walked 3 times, so a mixture has a few documents per source.
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
from dataforge.core.records import FIELDS, parse_body, record_from_row, record_to_row
from dataforge.job import GenerateOptions, run_generate

Q = [{"role": "user", "content": "What is 6 x 7?"}]
TOOLS = [{"type": "function", "function": {"name": "mul", "description": "Multiply.", "parameters": {
    "type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}}}]
RECORDS = {
    "text": {"text": "The sky is blue."},
    "chat": {"messages": [*Q, {"role": "assistant", "content": None, "reasoning_content": "Call mul.",
                               "tool_calls": [{"id": "c1", "type": "function",
                                               "function": {"name": "mul", "arguments": '{"a": 6, "b": 7}'}}]},
                          {"role": "tool", "content": "42", "tool_call_id": "c1", "name": "mul"},
                          {"role": "assistant", "content": "6 x 7 = 42.", "reasoning_content": "Report it."}],
             "tools": TOOLS, "chat_template_kwargs": {"enable_thinking": True, "style": "terse"}},
    "preference": {"prompt": "The sky is", "chosen": " blue.", "rejected": " green."},
    "preference_implicit": {"chosen": "The sky is blue.", "rejected": "The sky is green."},
    "preference_conversational": {"prompt": Q, "chosen": [{"role": "assistant", "content": "42."}],
                                  "rejected": [{"role": "assistant", "content": "41."}]},
    "preference_implicit_conversational": {"chosen": [*Q, {"role": "assistant", "content": "42."}],
                                           "rejected": [*Q, {"role": "assistant", "content": "41."}]},
    "completion": {"prompt": "The sky is", "completion": " blue."},
    "completion_conversational": {"prompt": Q, "completion": [{"role": "assistant", "content": "42."}]},
}
WALKS_PER_SEED = 3

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
    return SINK(**rec)

graph = Graph({kind!r}, Document, [FunctionNode("build", Document, SINK, build)])
seeds = [Document(id=k, text=k) for k in RECORDS]
walks = {walks}
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
        spec.write_text(SPEC.format(records=json.dumps(records), kind=kind, walks=WALKS_PER_SEED * len(records)),
                        encoding="utf-8")
        manifest, _ = run_generate(spec, root / f"gen-{kind}", GenerateOptions(partitions=2, use_cache=False))
        curated = run_pipeline(Pipeline(steps=[]), [str(root / f"gen-{kind}")], root / f"cur-{kind}", spark=spark)
        out[kind] = (manifest, root / f"gen-{kind}", curated.out, records)
    return out


@pytest.mark.parametrize("kind", ["text", "chat", "preference", "completion"])
def test_generated_records_carry_every_field_of_their_kind(generated, kind):
    manifest, gen, _, records = generated[kind]
    assert manifest.extra["record_kind"] == kind and manifest.counts["records"] == WALKS_PER_SEED * len(records)
    assert manifest.extra["layouts"] == sorted(records)
    rows = _rows(gen)
    want = sorted([canonical_json(r) for r in records.values()] * WALKS_PER_SEED)
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


def test_a_mixture_trains_on_exactly_what_each_generated_and_curated_record_renders_to(generated, spark, tmp_path):
    """text, chat (tool calls, tool results, reasoning, tools, template kwargs) and completion records in
    both forms: each whole document's tokens decode to the record's rendering, masks on the answers."""
    from transformers import AutoTokenizer

    from dataforge.core.models import embedded_llm_dir
    from mixtures import Mixture, Source, Stage, build_mixture, open_mixture
    from mixtures.templates import TEMPLATE_DIR

    tok = AutoTokenizer.from_pretrained(str(embedded_llm_dir()))
    tools_template = (TEMPLATE_DIR / "chatml-tools.jinja").read_text()
    cur = {kind: generated[kind][2] for kind in ("text", "chat", "completion")}
    text = Source("text", path=str(cur["text"]), holdout_docs=0)
    chat = Source("chat", path=str(cur["chat"]), holdout_docs=0, chat_template="chatml-tools")
    comp = Source("comp", path=str(cur["completion"] / "data" / "completion"), holdout_docs=0)
    conv = Source("conv", path=str(cur["completion"] / "data" / "completion_conversational"), holdout_docs=0)
    mixture = Mixture(name="kinds", tokenizer="embedded", seed=1, stages=[
        Stage("text", tokens=12, seq_len=512, weights={text: 1.0}),
        Stage("chat", tokens=500, seq_len=512, weights={chat: 1.0}),
        Stage("comp", tokens=80, seq_len=512, weights={comp: 0.2, conv: 0.8})])
    mx = open_mixture(build_mixture(mixture, tmp_path / "reg", spark=spark).id, tmp_path / "reg")
    c = RECORDS["chat"]
    stored_tools = record_from_row(record_to_row({"id": "x", **c})[1])["tools"]
    want = {"text": ("The sky is blue." + tok.eos_token, None),
            "chat": (tok.apply_chat_template(c["messages"], tools=stored_tools, chat_template=tools_template,
                                             tokenize=False, **c["chat_template_kwargs"]), "6 x 7 = 42."),
            "comp": ("The sky is blue." + tok.eos_token, " blue."),
            "conv": (tok.apply_chat_template([*Q, {"role": "assistant", "content": "42."}], tokenize=False), "42.")}
    seen = set()
    for stage in ("text", "chat", "comp"):
        for p in mx.stage(stage):
            if p.doc_start == 0 and len(p.tokens) == p.doc_tokens:
                text_want, answer = want[p.source]
                assert tok.decode(p.tokens.tolist()) == text_want, p.source
                if answer is not None:
                    trained = tok.decode(p.tokens[p.loss_mask.astype(bool)].tolist())
                    assert answer in trained and "What is 6 x 7?" not in trained, p.source
                seen.add(p.source)
    assert seen == {"text", "chat", "comp", "conv"}


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
