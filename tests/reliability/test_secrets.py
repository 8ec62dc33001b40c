"""Secrets never persist: API keys reach the server and nowhere else (outputs, caches, logs, ids, reprs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from curation import LLMJudgeFilter
from dataforge.backends import BackendSpec
from dataforge.backends.openai import OpenAIBackend
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import stable_hash
from dataforge.core.manifest import Manifest
from dataforge.core.secrets import REDACTED, Secret, redact_text
from jobs.cluster import free_port
from tests.reliability.conftest import REPO, forge, ledger_rows
from tests.reliability.fake_openai import serve

GEN_KEY = "sk-gen-7f3a9c1e5b2d4f60"
JUDGE_KEY = "sk-judge-19e2b7c4a8d0f355"
HEADER_KEY = "hdr-token-4c8e2a6f0b1d9e73"
KEYS = (GEN_KEY, JUDGE_KEY, HEADER_KEY)


def every_byte(root: Path) -> dict[str, bytes]:
    """Each file's bytes, plus the decoded rows of each Parquet file (its pages are compressed)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p)] = p.read_bytes()
            if p.suffix == ".parquet":
                out[f"{p} (rows)"] = json.dumps(pq.read_table(p).to_pylist(), default=str).encode()
    return out


def hits(blobs: dict[str, bytes], keys=KEYS) -> list[str]:
    return [f"{name}: {k}" for name, b in blobs.items() for k in keys if k.encode() in b]


def spec_with(key: str, header: str) -> BackendSpec:
    return BackendSpec(kind="openai", model="judge", options={
        "base_url": "http://127.0.0.1:9/v1", "api_key": key, "headers": {"Authorization": f"Bearer {header}",
                                                                          "X-Trace": "keep-me"}})


def test_backend_specs_and_steps_never_show_a_key_and_ids_do_not_depend_on_it():
    a, b = spec_with(JUDGE_KEY, HEADER_KEY), spec_with("sk-other-key-000000", "other-header-0000")
    shown = (repr(a), str(a), a.model_dump_json(), json.dumps(a.model_dump(mode="json")), repr(a.build()))
    for text in shown:
        assert not hits({"text": text.encode()}), text
    headers = a.model_dump(mode="json")["options"]["headers"]
    assert headers == {"Authorization": REDACTED, "X-Trace": "keep-me"}
    assert stable_hash(a) == stable_hash(b)
    ja, jb = LLMJudgeFilter(rubric="r", backend=a), LLMJudgeFilter(rubric="r", backend=b)
    assert ja.config() == jb.config() and not hits({"cfg": json.dumps(ja.config()).encode()})
    assert not hits({"repr": repr(ja).encode()})
    # the key still reaches the client, which sends it
    assert a.build().api_key.get_secret_value() == JUDGE_KEY


def test_manifest_redacts_credentials_in_config_and_extra_and_its_id_ignores_them(tmp_path):
    def build(key: str) -> Manifest:
        options = {"api_key": key, "headers": {"X-Api-Key": key, "Cookie": key}}
        config = {"inputs": [f"s3a://AKIA:{key}@bucket/raw", f"https://h/x.jsonl?api_key={key}&part=1"],
                  "steps": [{"backend": {"options": options}}],
                  "token": Secret(key), "eos_token": "</s>", "max_tokens": 5}
        return Manifest.build(tmp_path, "curated", config, extra={"password": key})

    m1, m2 = build(GEN_KEY), build(JUDGE_KEY)
    assert m1.id == m2.id and m1.config == m2.config
    m1.write(tmp_path)
    assert not hits(every_byte(tmp_path))
    assert m1.config["inputs"] == [f"s3a://{REDACTED}@bucket/raw",
                                   f"https://h/x.jsonl?api_key={REDACTED}&part=1"]
    assert m1.config["eos_token"] == "</s>" and m1.config["max_tokens"] == 5  # not credentials
    assert m1.extra == {"password": REDACTED}


def test_error_lines_scrub_url_passwords_key_queries_and_known_keys():
    url = f"http://user:{GEN_KEY}@127.0.0.1:{free_port()}/v1"  # nothing listens there
    with pytest.raises(ForgeError) as e:
        OpenAIBackend("m", base_url=url, max_retries=0, timeout=2).generate(["hi"], _sampling())
    assert "cannot connect" in str(e.value) and GEN_KEY not in str(e.value)
    Secret(JUDGE_KEY)  # a key this process holds is scrubbed from any line, wherever it appears
    line = redact_text(f"server said: bad key {JUDGE_KEY}; Authorization: Bearer {HEADER_KEY}")
    assert not hits({"line": line.encode()}) and line.count(REDACTED) >= 2


def test_api_key_env_names_a_missing_variable_and_reads_a_set_one(monkeypatch):
    monkeypatch.delenv("FORGE_TEST_KEY", raising=False)
    with pytest.raises(ForgeError, match=r"api_key_env names \$FORGE_TEST_KEY, which is not set"):
        OpenAIBackend("m", api_key_env="FORGE_TEST_KEY")
    monkeypatch.setenv("FORGE_TEST_KEY", GEN_KEY)
    llm = OpenAIBackend("m", api_key_env="FORGE_TEST_KEY")
    assert llm.api_key.get_secret_value() == GEN_KEY and GEN_KEY not in repr(llm)


def _sampling():
    from dataforge import Sampling

    return Sampling(max_tokens=4)


JUDGE_SPEC = '''
from curation import LLMJudgeFilter
from dataforge.backends import BackendSpec

pipeline = [LLMJudgeFilter(rubric="Plain English prose.", threshold=2, backend=BackendSpec(
    kind="openai", model="judge", options={{"base_url": "{url}", "api_key": "{key}",
                                           "headers": {{"Authorization": "Bearer {header}"}}}}))]
'''


def test_generate_and_curate_with_keys_write_no_key_in_any_output_cache_or_log(tmp_path):
    env = {**os.environ, "DATAFORGE_CACHE": str(tmp_path / "home-cache")}
    data = tmp_path / "in.jsonl"
    data.write_text('{"id": "doc-1", "text": "Bread is baked from flour, water and salt."}\n'
                    '{"id": "doc-2", "text": "Rivers carry water from the hills to the sea."}\n')
    spec = tmp_path / "judge.py"
    with serve() as fake:
        gen = forge("generate", str(REPO / "tests" / "dataforge" / "specs" / "tiny_qa.py"), "--out",
                    str(tmp_path / "gen"), "--backend", "openai", "--model", "m", "--base-url", fake.url,
                    "--option", f"api_key={GEN_KEY}", "--cache", str(tmp_path / "calls"), "--walks", "2",
                    "--master", "local[1]", env=env)
        gen_headers = list(fake.headers)
        spec.write_text(JUDGE_SPEC.format(url=fake.url, key=JUDGE_KEY, header=HEADER_KEY))
        cur = forge("curate", str(spec), "--input", str(data), "--out", str(tmp_path / "cur"), env=env)
        judge_headers = fake.headers[len(gen_headers):]
    assert gen.returncode == 0, gen.stderr[-3000:]
    assert cur.returncode == 0, cur.stderr[-3000:]
    # the keys were used: each request carried its credential
    assert gen_headers and all(h["Authorization"] == f"Bearer {GEN_KEY}" for h in gen_headers)
    assert judge_headers and all(h["Authorization"] == f"Bearer {HEADER_KEY}" for h in judge_headers)
    # ... and written nowhere: data, manifests, ledger, cards, reports, call cache, model cache, logs
    blobs = {**every_byte(tmp_path / "gen"), **every_byte(tmp_path / "cur"), **every_byte(tmp_path / "calls")}
    if (tmp_path / "home-cache").exists():
        blobs.update(every_byte(tmp_path / "home-cache"))
    assert any(name.endswith("manifest.json") for name in blobs) and len(ledger_rows(tmp_path / "cur")) == 2
    assert list((tmp_path / "calls").rglob("compact.kv")), "the call cache was written"
    for p in (gen, cur):
        blobs[f"{p.args[3]} stdout"], blobs[f"{p.args[3]} stderr"] = p.stdout.encode(), p.stderr.encode()
    assert hits(blobs) == []
    judge = Manifest.read(tmp_path / "cur").config["steps"][0]["backend"]["options"]
    assert judge["api_key"] == REDACTED and judge["headers"] == {"Authorization": REDACTED}
