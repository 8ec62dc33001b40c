"""The call cache: keys by content, a full rerun makes no calls, a killed run resumes where it stopped."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from dataforge import CachedBackend, CallCache, Sampling, generate, load_generate_spec, resolve_seeds
from dataforge.cache import call_key

SPEC = Path(__file__).parent / "specs" / "tiny_qa.py"
CHAT = [{"role": "user", "content": "hi"}]


def test_cache_key_covers_model_params_seed_and_prompt():
    base = call_key("m", CHAT, Sampling(max_tokens=8, seed=1))
    assert base == call_key("m", [dict(CHAT[0])], Sampling(max_tokens=8, seed=1))
    variants = [call_key("m2", CHAT, Sampling(max_tokens=8, seed=1)),
                call_key("m", CHAT, Sampling(max_tokens=9, seed=1)),
                call_key("m", CHAT, Sampling(max_tokens=8, seed=2)),
                call_key("m", CHAT, Sampling(max_tokens=8, seed=1, temperature=0.1)),
                call_key("m", "hi", Sampling(max_tokens=8, seed=1)),
                call_key("m", CHAT, Sampling(max_tokens=8, seed=1, json_schema={"type": "object"}))]
    assert len({base, *variants}) == 7


def test_full_rerun_makes_zero_llm_calls(embedded_llm, tmp_path):
    spec = load_generate_spec(SPEC)
    seeds = resolve_seeds(spec.seeds, spec.graph)
    first = generate(spec.graph, seeds, walks=4, backend=embedded_llm, cache=tmp_path / "c")
    again = generate(spec.graph, seeds, walks=4, backend=embedded_llm, cache=tmp_path / "c")
    assert first.stats.totals["llm_calls"] >= 8 and first.stats.totals["cache_hits"] == 0
    assert again.stats.totals["llm_calls"] == 0
    assert again.stats.totals["cache_hits"] == first.stats.totals["llm_calls"]
    assert "0 LLM calls (everything from the cache)" in again.stats.line()
    assert again.records == first.records


RUNNER = """
import sys
from dataforge import BackendSpec, generate, load_generate_spec, resolve_seeds
spec = load_generate_spec(sys.argv[1])
generate(spec.graph, resolve_seeds(spec.seeds, spec.graph), walks=12, cache=sys.argv[2],
         backend=BackendSpec(batch_size=2))
"""


def test_killed_run_resumes_making_only_the_missing_calls(embedded_llm, tmp_path):
    cache_dir = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, str(SPEC), str(cache_dir)], env=dict(os.environ),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    store = CallCache(cache_dir)
    deadline = time.monotonic() + 240
    while store.count() < 4:
        assert proc.poll() is None, f"runner ended early: {proc.stderr.read().decode()[-500:]}"
        assert time.monotonic() < deadline, "runner made no progress"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = store.count()

    spec = load_generate_spec(SPEC)
    seeds = resolve_seeds(spec.seeds, spec.graph)
    llm = CachedBackend(embedded_llm, store)
    resumed = generate(spec.graph, seeds, walks=12, backend=llm)
    total = resumed.stats.totals["llm_calls"] + resumed.stats.totals["cache_hits"]
    assert 0 < finished < total
    assert resumed.stats.totals["cache_hits"] == finished  # every finished call was reused...
    assert resumed.stats.totals["llm_calls"] == total - finished  # ...and only the rest were made
    rerun = generate(spec.graph, seeds, walks=12, backend=CachedBackend(embedded_llm, store))
    assert rerun.stats.totals["llm_calls"] == 0 and rerun.records == resumed.records


def test_editing_one_node_keeps_the_other_nodes_calls_cached(embedded_llm, tmp_path):
    from dataforge import Document, Graph, LLMNode
    from tests.dataforge.shapes import PASSAGES, TINY, Answer, Question, ask

    def graph(answer_prompt):
        return Graph("qa", Document, [ask(), LLMNode("answer", Question, Answer, prompt=answer_prompt, sampling=TINY)])

    first = generate(graph("{{ question }}"), PASSAGES[:3], backend=embedded_llm, cache=tmp_path / "c")
    edited = generate(graph("Answer briefly: {{ question }}"), PASSAGES[:3], backend=embedded_llm,
                      cache=tmp_path / "c")
    assert first.stats.node("ask")["llm_calls"] == 3
    assert edited.stats.node("ask")["cache_hits"] == 3 and edited.stats.node("ask")["llm_calls"] == 0
    assert edited.stats.node("answer")["llm_calls"] == 3
    assert {r["id"] for r in edited.records}.isdisjoint(r["id"] for r in first.records)  # a new graph's records
