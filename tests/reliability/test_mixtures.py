"""Mixtures: impossible work fails fast in bounded memory, tampered entries are refused, nothing is trimmed.

Each test checks the accounting (records in == documents + quarantine rows) or that the paths a refused
build did not create keep their bytes.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file
from dataforge.core.manifest import Manifest
from jobs.cli import main as forge_main
from mixtures import Mixture, Source, Stage, build_mixture, content_root, open_mixture
from mixtures.identity import input_key_from_manifest, mixture_id

from .conftest import REPO, error_line, nonblank_lines, snapshot

WORDS = "data model token stage mixture shard web math proof train loss batch source weight epoch piece".split()
AS_LIMIT = 2 << 30  # the address-space cap of the bounded-memory subprocesses


def words(i: int, n: int) -> str:
    return " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(n)).capitalize() + "."


def write_text_source(path: Path, n: int = 120) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"id": f"w{i}", "text": words(i, 10 + i % 30)}) + "\n" for i in range(n)))
    return path


def turn(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Question {i}: " + words(i, 6)},
            {"role": "assistant", "content": f"Answer {i}: " + words(i + 1, 12)}]


# Chat records a mixture cannot carry: each must be quarantined with its reason, never trimmed. The contract
# carries tool calls, names, reasoning and tools, but this tokenizer's chat template never reads them.
UNCARRIABLE = {
    "tool-calls": ({"messages": [{"role": "user", "content": "What is 6 x 7?"},
                                 {"role": "assistant", "content": "", "tool_calls": [
                                     {"id": "t1", "type": "function",
                                      "function": {"name": "mul", "arguments": "{\"a\": 6, \"b\": 7}"}}]},
                                 {"role": "tool", "tool_call_id": "t1", "content": "42"},
                                 {"role": "assistant", "content": "It is 42."}]}, "template_drops_tool_calls"),
    "named": ({"messages": [{"role": "user", "content": "hi", "name": "bob"}, turn(1)[1]]},
              "template_drops_name"),
    "reasoning": ({"messages": [turn(2)[0], {"role": "assistant", "content": "ok", "reasoning_content": "hmm"}]},
                  "template_drops_reasoning_content"),
    "outside-schema": ({"messages": [{"role": "user", "content": "hi", "audio": {"id": "a"}}, turn(6)[1]]},
                       "unsupported_message_field"),
    "list-content": ({"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}, turn(3)[1]]},
                     "unsupported_message_field"),
    "with-tools": ({"tools": [{"type": "function", "function": {"name": "mul"}}], "messages": turn(4)},
                   "template_drops_tools"),
}


def write_chat_source(path: Path, n: int = 40) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": f"c{i}", "messages": turn(i)}) for i in range(n)]
    lines += [json.dumps({"id": k, **rec}) for k, (rec, _) in UNCARRIABLE.items()]
    # Empty or null extra fields carry nothing: the record is kept.
    lines.append(json.dumps({"id": "empty-extras", "messages": [{**turn(5)[0], "name": None, "tool_calls": []},
                                                                turn(5)[1]]}))
    lines += ["{not json", ""]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_tool_parquet(path: Path, n: int = 20) -> Path:
    """Parquet chat records whose message struct has a tool_calls field, set in a few of them."""
    call = pa.struct([("id", pa.string()), ("type", pa.string()),
                      ("function", pa.struct([("name", pa.string()), ("arguments", pa.string())]))])
    msg = pa.struct([("role", pa.string()), ("content", pa.string()), ("tool_calls", pa.list_(call))])
    rows = []
    for i in range(n):
        msgs = [{**m, "tool_calls": None} for m in turn(100 + i)]
        if i % 5 == 0:
            msgs[1]["tool_calls"] = [{"id": f"t{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        rows.append({"id": f"p{i}", "messages": msgs})
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.string()), ("messages", pa.list_(msg))])),
                   path)
    return path


def tokenizer_dir() -> Path:
    from dataforge.core.models import embedded_llm_dir

    return embedded_llm_dir()


def planned_bytes(tokens: int) -> str:
    """What a one-stage text build of `tokens` writes at least: 4 bytes a token plus the tokenizer copy."""
    from mixtures.tokenizer import tokenizer_identity

    return f"{tokens * 4 + sum(map(len, tokenizer_identity(str(tokenizer_dir())).files.values())):,}"


@pytest.fixture(scope="module")
def built(spark, tmp_path_factory):
    """One small mixture with a text stage and an SFT stage over a JSONL and a Parquet chat source."""
    data = tmp_path_factory.mktemp("mixsrc")
    web = write_text_source(data / "web" / "docs.jsonl")
    chat = write_chat_source(data / "chat" / "chats.jsonl")
    tools = write_tool_parquet(data / "tools" / "part-00000.parquet")
    s_web, s_chat, s_tools = (Source("web", path=str(web.parent)), Source("chat", path=str(chat.parent)),
                              Source("tools", path=str(tools.parent)))
    mixture = Mixture(name="rel", tokenizer=str(tokenizer_dir()), seed=3, shard_tokens=1024, stages=[
        Stage("pre", tokens=3_000, seq_len=64, weights={s_web: 1.0}),
        Stage("sft", tokens=1_600, seq_len=128, weights={s_chat: 0.5, s_tools: 0.25, s_web: 0.25})])
    reg = tmp_path_factory.mktemp("registry")
    before = snapshot(data)
    result = build_mixture(mixture, reg, spark=spark)
    assert snapshot(data) == before  # the build never writes into its sources
    return {"id": result.id, "registry": reg, "chat": chat, "tools": tools, "mixture": mixture}


def copy_entry(built, dest: Path) -> Path:
    entry = dest / built["id"]
    shutil.copytree(built["registry"] / built["id"], entry)
    for p in entry.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return entry


def flip_byte(path: Path, at: int = 40) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 1
    path.write_bytes(bytes(data))


def edit_manifest(entry: Path, fn) -> None:
    raw = json.loads((entry / "manifest.json").read_text())
    fn(raw)
    (entry / "manifest.json").write_text(json.dumps(raw))


def run_bounded(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run Python code in a subprocess whose address space is capped at AS_LIMIT."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO,
                          timeout=timeout, preexec_fn=cap, env=env)


PLAN = textwrap.dedent("""
    import resource, sys, time
    import numpy as np
    from dataforge.core.errors import ForgeError
    from mixtures import Mixture, Source, Stage
    from mixtures.plan import SourceDocs, build_plan
    n, ntok, tokens, seq_len = (int(a) for a in sys.argv[1:5])
    keys = np.arange(n, dtype=np.int64) * 7919 - n
    docs = SourceDocs(name="web", kind="text", keys=keys, chash=keys.copy(), ntok=np.full(n, ntok, np.int64),
                      doc_ids=[f"d{i}" for i in range(n)])
    web = Source("web", path="w", holdout_docs=0)
    m = Mixture(name="huge", tokenizer="t", stages=[Stage("warmup", tokens=1000, seq_len=seq_len, weights={web: 1.0}),
                Stage("pretrain", tokens=tokens, seq_len=seq_len, weights={web: 1.0})])
    t0 = time.perf_counter()
    try:
        build_plan(m, {"web": docs})
    except ForgeError as e:
        print(f"{time.perf_counter() - t0:.3f} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
        print(e)
        sys.exit(3)
    print("planned")
""")


def test_budget_no_source_can_meet_is_refused_in_seconds_and_bounded_memory():
    # 200 documents of 100 tokens and no max_epochs, asked for 10**13 tokens: 5e8 epochs.
    p = run_bounded(PLAN, "200", "100", str(10**13), "2048")
    assert p.returncode == 3, p.stdout + p.stderr[-2000:]
    timing, message = p.stdout.splitlines()
    seconds, peak_kib = timing.split()
    assert float(seconds) < 5 and int(peak_kib) < AS_LIMIT // 1024
    assert message.startswith("source web needs 5e+08 epochs in stage pretrain, more than the 1000 allowed "
                              "without max_epochs: it has 20,000 training tokens and the stages up to pretrain "
                              "ask for 10,000,000,001,000;"), message
    assert "set max_epochs" in message and "\n" not in message


def test_plan_larger_than_driver_memory_is_refused_before_allocating_it():
    # Within 1000 epochs (900), but ~9e7 pieces: tens of GB of plan tables, over the 2 GiB cap.
    p = run_bounded(PLAN, "100000", "100", str(9 * 10**9), "64")
    assert p.returncode == 3, p.stdout + p.stderr[-2000:]
    timing, message = p.stdout.splitlines()
    assert float(timing.split()[0]) < 5
    assert message.startswith("stage pretrain: planning needs about ") and "more than the 2.0 GiB" in message


SPEC = """
from mixtures import Mixture, Stage, Source
web = Source("web", path="{web}"{source_extra})
mixture = Mixture(name="m", tokenizer="{tok}"{mixture_extra},
                  stages=[Stage("pre", {stage})])
"""


def write_spec(path: Path, web: Path, stage: str = 'tokens=1000, weights={web: 1.0}', source_extra: str = "",
               mixture_extra: str = "") -> Path:
    path.write_text(SPEC.format(web=web, tok=tokenizer_dir(), stage=stage, source_extra=source_extra,
                                mixture_extra=mixture_extra))
    return path


@pytest.mark.parametrize("field,stage,source_extra,mixture_extra", [
    ("Stage('pre').tokens", "tokens=0, weights={web: 1.0}", "", ""),
    ("Stage('pre').tokens", "tokens=10**16, weights={web: 1.0}", "", ""),
    ("Stage('pre').seq_len", "tokens=1000, seq_len=4, weights={web: 1.0}", "", ""),
    ("Stage('pre').seq_len", "tokens=1000, seq_len=2**21, weights={web: 1.0}", "", ""),
    ("Stage('pre').weights", "tokens=1000, weights={web: 0.5}", "", ""),
    ("Stage('pre').weights", "weights={web: 10**16}", "", ""),
    ("Source('web').max_epochs", "tokens=1000, weights={web: 1.0}", ", max_epochs=10**6", ""),
    ("Mixture('m').shard_tokens", "tokens=1000, weights={web: 1.0}", "", ", shard_tokens=16"),
])
def test_absurd_sizes_in_the_spec_are_refused_in_one_line_before_any_work(tmp_path, capsys, field, stage,
                                                                          source_extra, mixture_extra):
    web = write_text_source(tmp_path / "web" / "docs.jsonl")
    spec = write_spec(tmp_path / "m.py", web.parent, stage, source_extra, mixture_extra)
    before = snapshot(tmp_path)
    assert forge_main(["mix", "build", str(spec), "--registry", str(tmp_path / "reg")]) == 2
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("forge: error:")]
    assert len(errors) == 1 and field in errors[0], errors
    assert snapshot(tmp_path) == before and not (tmp_path / "reg").exists()


def test_budget_beyond_the_free_disk_is_refused_before_spark_starts(tmp_path):
    web = write_text_source(tmp_path / "web" / "docs.jsonl")
    spec = write_spec(tmp_path / "m.py", web.parent, "tokens=10**14, weights={web: 1.0}")
    before = snapshot(tmp_path)
    t0 = time.perf_counter()
    p = run_bounded(f"import sys; from jobs.cli import main; sys.exit(main({['mix', 'build', str(spec), '--registry', str(tmp_path / 'reg')]!r}))")
    elapsed = time.perf_counter() - t0
    line = error_line(p)
    assert p.returncode == 2 and elapsed < 60  # import time included; no Spark session was started
    assert f"the stages' shards need {planned_bytes(10**14)} bytes but " in line and " free;" in line, line
    assert "starting Spark" not in p.stderr
    assert snapshot(tmp_path) == before and not (tmp_path / "reg").exists()


def test_shards_larger_than_a_small_filesystem_are_refused_with_both_numbers(tmp_path):
    if shutil.which("unshare") is None or subprocess.run(
            ["unshare", "-rm", "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare -rm (user and mount namespaces) to mount a small tmpfs")
    web = write_text_source(tmp_path / "web" / "docs.jsonl")
    spec = write_spec(tmp_path / "m.py", web.parent, "tokens=1_000_000, weights={web: 1.0}")
    reg = tmp_path / "reg"
    reg.mkdir()
    before = snapshot(tmp_path)
    p = subprocess.run(["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"', str(reg),
                        sys.executable, "-m", "jobs.cli", "mix", "build", str(spec), "--registry", str(reg)],
                       capture_output=True, text=True, cwd=REPO, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    line = error_line(p)
    assert p.returncode == 2
    assert f"need {planned_bytes(10**6)} bytes but {reg} has 1,048,576 free" in line, line
    assert snapshot(tmp_path) == before


def test_uncapped_source_too_small_is_refused_after_tokenizing_before_any_shard_write(spark, tmp_path):
    web = write_text_source(tmp_path / "web" / "docs.jsonl", n=30)
    s = Source("web", path=str(web.parent), holdout_docs=0)
    mixture = Mixture(name="big", tokenizer=str(tokenizer_dir()), stages=[Stage("pre", tokens=10**7,
                                                                                weights={s: 1.0})])
    before = snapshot(tmp_path)
    with pytest.raises(ForgeError, match=r"^source web needs \d+\.\d epochs in stage pre, more than the 1000 "
                                         r"allowed without max_epochs: it has [\d,]+ training tokens and the "
                                         r"stages up to pre ask for 10,000,000;"):
        build_mixture(mixture, tmp_path / "reg", spark=spark)
    assert snapshot(tmp_path) == before  # no shard, staging dir or entry was written
    assert not (tmp_path / "reg").exists() or not any((tmp_path / "reg").iterdir())


def test_chat_fields_a_mixture_cannot_carry_are_quarantined_not_trimmed(built):
    mx = open_mixture(built["id"], built["registry"])
    q = pq.read_table(mx.path / "quarantine" / "part-00000.parquet").to_pylist()
    by_source = {}
    for r in q:
        by_source.setdefault(r["source"], {})[r["id"]] = r["reason"]
    chat = by_source["chat"]
    for key, (_, reason) in UNCARRIABLE.items():
        assert chat[key] == reason
    assert sorted(chat.values()).count("bad_json") == 1 and "empty-extras" not in chat
    assert sorted(by_source["tools"]) == ["p0", "p10", "p15", "p5"]
    assert set(by_source["tools"].values()) == {"template_drops_tool_calls"}
    # Accounting: every non-blank input line (or Parquet row) is a document or a quarantine row.
    sources = mx.manifest.extra["sources"]
    assert nonblank_lines(built["chat"]) == sources["chat"]["docs"] + len(chat)
    assert pq.read_metadata(built["tools"]).num_rows == sources["tools"]["docs"] + len(by_source["tools"])
    used = {p.doc_id for st in mx.stages for p in st} | {p.doc_id for n in sources for p in mx.validation(n)}
    assert not used & (set(chat) | set(by_source["tools"]))


def test_shard_and_its_manifest_sha256_edited_together_are_refused_by_the_trainers_open(built, tmp_path, capsys):
    from training.loader import MixtureLoader

    original = snapshot(built["registry"] / built["id"])
    entry = copy_entry(built, tmp_path)
    rel = "stages/01-sft/tokens-00000.u32"
    flip_byte(entry / rel)
    edit_manifest(entry, lambda m: m["files"].__setitem__(rel, sha256_file(entry / rel)))
    with pytest.raises(ForgeError) as e:
        MixtureLoader(open_mixture(entry), micro_batch_size=1, grad_accum=1)
    msg = str(e.value)
    assert "\n" not in msg and f"{entry}/manifest.json" in msg and f"does not hash to id {built['id']}" in msg
    assert "content root differs" in msg
    assert forge_main(["mix", "show", str(entry)]) == 2
    assert "does not hash to id" in capsys.readouterr().err
    # Also rewriting the recorded root and the id only moves the mismatch to the directory's name.
    new_root = content_root(json.loads((entry / "manifest.json").read_text())["files"])
    edit_manifest(entry, lambda m: m["extra"].__setitem__("content_root", new_root))
    with pytest.raises(ForgeError, match="content root differs"):
        open_mixture(entry)
    forged = mixture_id(input_key_from_manifest(Manifest.read(entry)), new_root)
    edit_manifest(entry, lambda m: m.__setitem__("id", forged))
    with pytest.raises(ForgeError, match=f"directory of mixture {built['id']} holds mixture {forged}"):
        open_mixture(entry)
    assert snapshot(built["registry"] / built["id"]) == original


def test_shard_edited_alone_is_refused_naming_the_file(built, tmp_path):
    original = snapshot(built["registry"] / built["id"])
    entry = copy_entry(built, tmp_path)
    flip_byte(entry / "stages" / "00-pre" / "tokens-00001.u32")
    with pytest.raises(ForgeError, match=rf"{entry}/stages/00-pre/tokens-00001\.u32: sha256 does not match the "
                                         rf"manifest of mixture {built['id']}"):
        open_mixture(entry)
    assert snapshot(built["registry"] / built["id"]) == original


def test_training_loader_refuses_a_mixture_opened_without_verification(built):
    from training.loader import MixtureLoader

    mx = open_mixture(built["id"], built["registry"], verify_files=False)
    with pytest.raises(ForgeError, match=f"mixture {built['id']}: opened with verify_files=False"):
        MixtureLoader(mx, micro_batch_size=1, grad_accum=1)
    loader = MixtureLoader(open_mixture(built["id"], built["registry"]), micro_batch_size=1, grad_accum=1)
    assert sum(loader.stage_totals) == 3_000 + 1_600


def test_same_inputs_rebuild_to_the_same_id_and_bytes(built, spark, tmp_path):
    again = build_mixture(built["mixture"], tmp_path / "reg", spark=spark)
    assert again.built and again.id == built["id"]
    first = json.loads((built["registry"] / built["id"] / "manifest.json").read_text())
    second = json.loads((again.path / "manifest.json").read_text())
    assert first["files"] == second["files"] and first["extra"]["content_root"] == second["extra"]["content_root"]
    for rel in first["files"]:
        assert (again.path / rel).read_bytes() == (built["registry"] / built["id"] / rel).read_bytes()
    noop = build_mixture(built["mixture"], built["registry"], spark=spark)
    assert (noop.id, noop.built) == (built["id"], False)
