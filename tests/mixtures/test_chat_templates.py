"""Chat settings per mixture and source: template, role names, system-prompt policy; completion records.

Records go through the executor-side tokenizers (the code a build runs in Spark tasks); the expected text
comes from transformers' own `apply_chat_template`, and the expected mask from the rendered text alone.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pytest
from transformers import AutoTokenizer

from dataforge.core.errors import ForgeError
from mixtures import Mixture, MixtureSpecError, Source, Stage
from mixtures.completions import tokenize_completion_batches
from mixtures.templates import TEMPLATE_DIR, chat_settings, template_hashes
from mixtures.tokenize import tokenize_chat_batches
from mixtures.tokenizer import load_tokenizer_info

TOOLS = [{"type": "function", "function": {"name": "mul", "description": "Multiply two numbers.",
                                           "parameters": {"type": "object", "properties": {
                                               "a": {"type": "number"}, "b": {"type": "number"}}}}}]
TOOL_CHAT = {"id": "tool-1", "tools": TOOLS, "messages": [
    {"role": "user", "content": "What is 6 x 7?"},
    {"role": "assistant", "content": None, "reasoning_content": "I should call mul.",
     "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "mul", "arguments": '{"a": 6, "b": 7}'}}]},
    {"role": "tool", "tool_call_id": "c1", "name": "mul", "content": "42"},
    {"role": "assistant", "content": "6 x 7 = 42."}]}
PLAIN = [{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "Seven."}]
SMOLLM_DEFAULT = "You are a helpful AI assistant named SmolLM"
# Qwen3's rule in a few lines: reasoning is shown only for assistant turns after the last user message.
DROPS_EARLIER_REASONING = (
    "{%- set ns = namespace(last_user=-1) %}{%- for m in messages %}{%- if m.role == 'user' %}"
    "{%- set ns.last_user = loop.index0 %}{%- endif %}{%- endfor %}"
    "{%- for m in messages %}{{- '<|im_start|>' + m.role + '\\n' }}"
    "{%- if m.role == 'assistant' and m.reasoning_content and loop.index0 > ns.last_user %}"
    "{{- '<think>\\n' + m.reasoning_content + '\\n</think>\\n\\n' }}{%- endif %}"
    "{{- m.content + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")


@pytest.fixture(scope="module")
def tok(tokenizer_dir):
    return AutoTokenizer.from_pretrained(str(tokenizer_dir))


@pytest.fixture(scope="module")
def payload(tokenizer_dir):
    return load_tokenizer_info(str(tokenizer_dir)).payload()


def settings_for(payload, tmp_path=None, kind="chat", **chat) -> dict:
    """The executor payload of one source's chat settings, resolved from a real spec."""
    src = Source("s", path="unused", kind=kind)
    mixture = Mixture(name="t", tokenizer="embedded", stages=[Stage("st", tokens=100, weights={src: 1.0})], **chat)
    return chat_settings(mixture, ["s"], tmp_path, payload["chat_template"])["s"].payload()


def run(fn, records: list[dict], **kw) -> list[dict]:
    batch = pa.RecordBatch.from_pydict({"value": [json.dumps(r) for r in records]})
    return [r for out in fn(iter([batch]), src=0, source="s", **kw) for r in out.to_pylist()]


def tokens_of(row: dict) -> tuple[list[int], np.ndarray]:
    assert row["reason"] is None, row["reason"]
    return np.frombuffer(row["tokens"], "<u4").tolist(), np.frombuffer(row["mask"], "u1")


def expected_mask(tok, ids: list[int], text: str, spans: list[tuple[int, int]]) -> list[int]:
    """1 for a token that starts inside a span of `text`, token by token (ASCII text: one char per byte)."""
    out, pos = [], 0
    for i in ids:
        out.append(int(any(a <= pos < b for a, b in spans)))
        pos += len(tok.decode([i]))
    assert pos == len(text)
    return out


def turn_spans(text: str, name: str = "assistant") -> list[tuple[int, int]]:
    """What follows each `<|im_start|>NAME\\n` header up to and including its `<|im_end|>`."""
    return [m.span(1) for m in re.finditer(rf"<\|im_start\|>{name}\n(.*?<\|im_end\|>)", text, re.S)]


def test_tool_use_chat_masks_tool_call_turns_in_and_tool_results_out(tok, payload):
    settings = settings_for(payload, chat_template="chatml-tools")
    ids, mask = tokens_of(run(tokenize_chat_batches, [TOOL_CHAT], payload=payload, settings=settings)[0])
    template = (TEMPLATE_DIR / "chatml-tools.jinja").read_text()
    text = tok.apply_chat_template(TOOL_CHAT["messages"], tools=TOOLS, chat_template=template, tokenize=False)
    assert tok.decode(ids) == text  # byte for byte what the template renders
    assert '"name": "mul"' in text and "<think>\nI should call mul." in text and "<tool_response>" in text
    assert mask.tolist() == expected_mask(tok, ids, text, turn_spans(text))
    trained = tok.decode(np.asarray(ids)[mask == 1].tolist())
    assert '<tool_call>\n{"id": "c1", "name": "mul", "arguments": {"a": 6, "b": 7}}\n</tool_call>' in trained
    assert "42\n</tool_response>" not in trained and "Multiply two numbers" not in trained


def test_system_prompt_policy_default_none_or_given_text(tok, payload):
    def decoded(**chat):
        ids, mask = tokens_of(run(tokenize_chat_batches, [{"messages": PLAIN}], payload=payload,
                                  settings=settings_for(payload, **chat))[0])
        text = tok.decode(ids)
        assert mask.tolist() == expected_mask(tok, ids, text, turn_spans(text))
        return text

    default = decoded()
    assert SMOLLM_DEFAULT in default and default == tok.apply_chat_template(PLAIN, tokenize=False)
    for none in (None, "none"):
        text = decoded(system_prompt=none)
        assert SMOLLM_DEFAULT not in text and "system" not in text
        assert text == "<|im_start|>user\nName a prime.<|im_end|>\n<|im_start|>assistant\nSeven.<|im_end|>\n"
    given = decoded(system_prompt="Answer in one word.")
    assert SMOLLM_DEFAULT not in given
    assert given == tok.apply_chat_template([{"role": "system", "content": "Answer in one word."}, *PLAIN],
                                            tokenize=False)
    own = [{"role": "system", "content": "Mine."}, *PLAIN]  # a record's own system message is data: kept
    ids, _ = tokens_of(run(tokenize_chat_batches, [{"messages": own}], payload=payload,
                           settings=settings_for(payload, system_prompt="Answer in one word."))[0])
    assert tok.decode(ids) == tok.apply_chat_template(own, tokenize=False)


def test_assistant_rendered_as_me_keeps_the_mask_on_assistant_turns(tok, payload):
    convo = [*PLAIN, {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Eleven."}]
    for chat in ({}, {"chat_template": "chatml-tools"}):
        settings = settings_for(payload, roles={"assistant": "me"}, system_prompt="none", **chat)
        ids, mask = tokens_of(run(tokenize_chat_batches, [{"messages": convo}], payload=payload, settings=settings)[0])
        text = tok.decode(ids)
        assert "<|im_start|>me\n" in text and "assistant" not in text
        assert mask.tolist() == expected_mask(tok, ids, text, turn_spans(text, "me"))
        assert tok.decode(np.asarray(ids)[mask == 1].tolist()) == "Seven.<|im_end|>Eleven.<|im_end|>"


def test_template_that_drops_earlier_reasoning_is_rendered_turn_by_turn(tok, payload, tmp_path):
    (tmp_path / "qwen3ish.jinja").write_text(DROPS_EARLIER_REASONING)
    settings = settings_for(payload, tmp_path, chat_template="qwen3ish.jinja")
    convo = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4.", "reasoning_content": "Add."},
             {"role": "user", "content": "3+3?"}, {"role": "assistant", "content": "6.", "reasoning_content": "Add."}]
    ids, mask = tokens_of(run(tokenize_chat_batches, [{"messages": convo}], payload=payload, settings=settings)[0])
    first = tok.apply_chat_template(convo[:2], chat_template=DROPS_EARLIER_REASONING, tokenize=False)
    whole = tok.apply_chat_template(convo, chat_template=DROPS_EARLIER_REASONING, tokenize=False)
    assert "<think>" in first and whole.count("<think>") == 1  # the whole drops the first turn's reasoning
    text = tok.decode(ids)
    assert text == first + whole  # one segment per rewritten turn, in conversation order
    # turn 1 is trained in its own segment (with its reasoning), turn 3 in the whole; the whole's copy of
    # turn 1 (without reasoning) is context only
    spans = [turn_spans(first)[0], (len(first) + turn_spans(whole)[1][0], len(first) + turn_spans(whole)[1][1])]
    assert mask.tolist() == expected_mask(tok, ids, text, spans)
    trained = tok.decode(np.asarray(ids)[mask == 1].tolist())
    assert trained == "<think>\nAdd.\n</think>\n\n4.<|im_end|><think>\nAdd.\n</think>\n\n6.<|im_end|>"


def test_completion_records_train_on_the_completion_only(tok, payload):
    eos = tok.eos_token_id
    settings = settings_for(payload, kind="completion", system_prompt="none")
    convo = {"id": "c", "prompt": [{"role": "user", "content": "Hi."}, {"role": "assistant", "content": "Hello."},
                                   {"role": "user", "content": "Name a prime."}],
             "completion": [{"role": "assistant", "content": "Seven."}]}
    rows = run(tokenize_completion_batches, [{"id": "p", "prompt": "The capital of France is", "completion": " Paris."},
                                             convo, {"id": "e", "prompt": "x", "completion": ""}],
               payload=payload, eos_id=eos, settings=settings)
    by_id = {r["doc_id"]: r for r in rows}
    assert by_id["e"]["reason"] == "empty_completion"
    ids, mask = tokens_of(by_id["p"])
    prompt = tok("The capital of France is", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == "The capital of France is Paris.<|im_end|>" and ids[-1] == eos
    assert mask.tolist() == [0] * len(prompt) + [1] * (len(ids) - len(prompt))
    ids, mask = tokens_of(by_id["c"])
    text = tok.decode(ids)
    assert text == ("<|im_start|>user\nHi.<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
                    "<|im_start|>user\nName a prime.<|im_end|>\n<|im_start|>assistant\nSeven.<|im_end|>\n")
    assert mask.tolist() == expected_mask(tok, ids, text, turn_spans(text)[1:])  # the prompt's reply is context


def test_template_settings_are_checked_in_one_line_naming_the_field(tmp_path):
    (tmp_path.parent / "outside.jinja").write_text("{{ messages }}")
    for path, what in (("missing.jinja", "not found"), ("../outside.jinja", "is outside")):
        src = Source("chat", path="unused", chat_template=path)
        m = Mixture(name="m", tokenizer="embedded", stages=[Stage("st", tokens=100, weights={src: 1.0})])
        with pytest.raises(ForgeError) as e:
            template_hashes(m, ["chat"], tmp_path)
        assert str(e.value).startswith("Source('chat').chat_template: ") and what in str(e.value)
        assert "\n" not in str(e.value)
    src = Source("chat", path="unused")
    bad = [({"chat_template": "chatml"}, "Mixture('m').chat_template: 'chatml' is neither a named template"),
           ({"roles": {"bot": "me"}}, "Mixture('m').roles: unknown role 'bot'"),
           ({"roles": {"assistant": "user"}}, "Mixture('m').roles: two roles would be rendered with the same name"),
           ({"roles": {"assistant": "<|im_end|>"}}, "Mixture('m').roles: 'assistant' -> '<|im_end|>'"),
           ({"system_prompt": " "}, "Mixture('m').system_prompt: empty")]
    for kw, msg in bad:
        with pytest.raises(MixtureSpecError) as e:
            Mixture(name="m", tokenizer="embedded", stages=[Stage("st", tokens=100, weights={src: 1.0})], **kw)
        assert str(e.value).startswith(msg) and "\n" not in str(e.value)


def test_chat_settings_enter_the_id_and_defaults_leave_it_as_it_was(tmp_path):
    from mixtures.identity import input_key

    def spec(**kw):
        src = Source("chat", path="unused", **kw.pop("source", {}))
        return Mixture(name="m", tokenizer="embedded", stages=[Stage("st", tokens=100, weights={src: 1.0})], **kw)

    plain = spec().identity_json()
    assert "chat_template" not in plain and "roles" not in plain and "system_prompt" not in plain["sources"][0]
    variants = [spec(chat_template="chatml-tools"), spec(roles={"assistant": "me"}), spec(system_prompt=None),
                spec(system_prompt="Be brief."), spec(source={"system_prompt": "none"})]
    ids = {json.dumps(m.identity_json(), sort_keys=True) for m in [spec(), *variants]}
    assert len(ids) == 6
    assert spec(system_prompt=None).identity_json() == spec(system_prompt="none").identity_json()
    # a template file: its content enters the key, its location does not
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "t.jinja").write_text("{{ messages[0].content }}")
    (tmp_path / "t.jinja").write_text("{{ messages[0].content }}")
    keys = []
    for path in ("a/t.jinja", "t.jinja"):
        m = spec(chat_template=path)
        keys.append(input_key(m.identity_json(), {"chat": "x"}, "tok", templates=template_hashes(m, ["chat"], tmp_path)))
    (tmp_path / "t.jinja").write_text("{{ messages[-1].content }}")
    m = spec(chat_template="t.jinja")
    keys.append(input_key(m.identity_json(), {"chat": "x"}, "tok", templates=template_hashes(m, ["chat"], tmp_path)))
    assert keys[0] == keys[1] != keys[2]


def test_build_renders_each_source_with_its_settings_and_reopens_by_id(spark, tok, tmp_path):
    """A build through Spark: a tool chat source with a template file beside the spec, "me" and no system
    prompt; completion sources in both forms. The id (template hash included) verifies on open."""
    from dataforge.core.io import write_table
    from dataforge.core.records import record_from_row, record_to_row, schema_of
    from mixtures import build_mixture, open_mixture

    template = (TEMPLATE_DIR / "chatml-tools.jinja").read_text()
    (tmp_path / "agent.jinja").write_text(template)
    chats = [{**TOOL_CHAT, "id": f"tool-{i}", "source": "t", "metadata": {}} for i in range(12)]
    write_table([record_to_row(r)[1] for r in chats], tmp_path / "agent" / "part-0.parquet", schema_of("chat"))
    convs = [{"id": f"conv-{i}", "source": "t", "metadata": {}, "prompt": [{"role": "user", "content": f"Count {i}."}],
              "completion": [{"role": "assistant", "content": f"{i}, {i + 1}."}]} for i in range(12)]
    write_table([record_to_row(r)[1] for r in convs], tmp_path / "conv" / "part-0.parquet",
                schema_of("completion_conversational"))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "p.jsonl").write_text("".join(
        json.dumps({"id": f"p-{i}", "prompt": f"Say {i}:", "completion": f" {i}."}) + "\n" for i in range(12)))
    agent = Source("agent", path="agent", chat_template="agent.jinja", roles={"assistant": "me"}, system_prompt="none",
                   holdout_docs=1)
    conv, plain = Source("conv", path="conv", holdout_docs=1), Source("plain", path="plain", holdout_docs=1)
    mixture = Mixture(name="chat-settings", tokenizer="embedded", seed=3, system_prompt="none",
                      stages=[Stage("sft", tokens=1_500, seq_len=512, weights={agent: 0.6, conv: 0.2, plain: 0.2})])
    result = build_mixture(mixture, tmp_path / "reg", spec_dir=tmp_path, spark=spark)
    mx = open_mixture(result.id, tmp_path / "reg")
    assert mx.manifest.extra["chat_templates"]["agent"]["chat_template"] == "agent.jinja"
    assert {s["kind"] for s in mx.sources.values()} == {"chat", "completion"}
    stage = mx.stage("sft")
    assert stage.sft
    whole = {}
    for p in [*stage, *(p for n in ("agent", "conv", "plain") for p in mx.validation(n))]:
        if p.doc_start == 0 and len(p.tokens) == p.doc_tokens:  # a whole document
            whole[(p.source, p.doc_id)] = (p.tokens.tolist(), p.loss_mask)
    me = [{**m, "role": "me" if m["role"] == "assistant" else m["role"]} for m in TOOL_CHAT["messages"]]
    stored = record_from_row(record_to_row(chats[0])[1])["tools"]  # the contract's normal form: sorted keys
    want = {"agent": tok.apply_chat_template(me, tools=stored, chat_template=template, tokenize=False),
            "conv": "<|im_start|>user\nCount {i}.<|im_end|>\n<|im_start|>assistant\n{i}, {j}.<|im_end|>\n",
            "plain": "Say {i}: {i}.<|im_end|>"}
    seen = set()
    for (source, doc_id), (ids, mask) in whole.items():
        i = int(doc_id.split("-")[1])
        text = tok.decode(ids)
        assert text == want[source].replace("{i}", str(i)).replace("{j}", str(i + 1))
        name = "me" if source == "agent" else "assistant"
        spans = turn_spans(text, name) if source != "plain" else [(len(f"Say {i}:"), len(text))]
        assert mask.tolist() == expected_mask(tok, ids, text, spans)
        seen.add(source)
    assert seen == {"agent", "conv", "plain"}
    assert build_mixture(mixture, tmp_path / "reg", spec_dir=tmp_path, spark=spark).built is False
