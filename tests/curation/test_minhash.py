"""MinHash dedup: distributed, verified against exact Jaccard, and independent of partitioning."""

from __future__ import annotations

import json
import random

import networkx as nx
import numpy as np

from curation import MinHashDedup
from curation.dedup.components import connected_components
from curation.dedup.minhash import MinHasher, choose_bands
from curation.dedup.verify import jaccard_passes, pack
from curation.runner import RunContext
from curation.steps.fused import WORK_DDL
from curation.text import TokenHasher, batch_ngram_hashes, ngram_hashes, word_lists, words


def _doc(rng: random.Random, n: int = 120) -> str:
    vocab = [f"w{i}" for i in range(3000)]
    return " ".join(rng.choice(vocab) for _ in range(n))


def _mutate(text: str, rng: random.Random, k: int) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), k):
        words[i] = f"x{rng.randrange(10**6)}"
    return " ".join(words)


def _jaccard(h: MinHasher, a: str, b: str) -> float:
    sa, sb = h.shingles(a), h.shingles(b)
    return len(np.intersect1d(sa, sb)) / len(np.union1d(sa, sb))


def test_signature_agreement_estimates_jaccard():
    rng = random.Random(0)
    h = MinHasher(num_perm=256, ngram=5)
    for k in (1, 4, 10, 25):
        a = _doc(rng)
        b = _mutate(a, rng, k)
        sig, has = h.signatures([a, b])
        assert has.all()
        assert abs(float((sig[0] == sig[1]).mean()) - _jaccard(h, a, b)) < 0.1


def test_batch_words_match_the_word_regex_on_ascii_and_unicode():
    texts = ["Hello, World! foo_bar 42", "", None, "  lead  ", "Straße — «naïve» ÉTÉ", "tab\tnew\nline", "日本語 テキスト",
             "a’b c–d", "...", "ﬁ ligature"]
    rng = random.Random(1)
    texts += ["".join(rng.choice("abXY09_ ,.-\té’日") for _ in range(rng.randrange(30))) for _ in range(200)]
    assert word_lists(texts) == [words(t or "") for t in texts]
    ascii_only = [t for t in texts if t is None or t.isascii()]  # the all-ASCII fast path alone
    assert word_lists(ascii_only) == [words(t or "") for t in ascii_only]


def test_batch_ngrams_match_per_document_ngrams():
    rng = np.random.default_rng(2)
    lengths = [0, 3, 9, 1, 0, 5, 12, 4]  # empty, shorter than n, exactly n and longer documents
    th = rng.integers(0, 2**63, sum(lengths), dtype=np.uint64)
    off = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    flat, out_off = batch_ngram_hashes(th, off, 5)
    for d in range(len(lengths)):
        assert (flat[out_off[d]:out_off[d + 1]] == ngram_hashes(th[off[d]:off[d + 1]], 5)).all()


def test_signatures_and_shingle_sets_do_not_depend_on_batching():
    rng = random.Random(4)
    texts = [_doc(rng, rng.choice((3, 40, 120))) for _ in range(30)] + ["", "one"]
    h = MinHasher(num_perm=128, ngram=5, seed=9)
    sig, has = h.signatures(texts)
    parts = [h.signatures(texts[i:i + 7]) for i in range(0, len(texts), 7)]
    assert (np.concatenate([p[0] for p in parts]) == sig).all() and list(has) == [bool(t.split()) for t in texts]
    assert (MinHasher(128, 5, seed=9).signatures(texts)[0] == sig).all()
    assert not (MinHasher(128, 5, seed=10).signatures(texts)[0] == sig).all()
    flat, off = h.shingle_sets(texts)
    for i, t in enumerate(texts):
        th = TokenHasher().hashes(words(t))
        assert (flat[off[i]:off[i + 1]] == np.unique(ngram_hashes(th, 5))).all()


def test_pair_verification_matches_python_sets():
    rng = np.random.default_rng(5)
    lists = [[rng.integers(0, 12, rng.integers(1, 30)).astype(np.uint64) << np.uint64(60) for _ in range(200)]
             for _ in range(2)]
    fa, fb = (pack(np.concatenate(x), np.concatenate(([0], np.cumsum([len(v) for v in x])))) for x in lists)
    want = [len(set(a.tolist()) & set(b.tolist())) >= 0.3 * len(set(a.tolist()) | set(b.tolist()))
            for a, b in zip(*lists, strict=True)]
    assert jaccard_passes(fa, fb, 0.3).tolist() == want and 0 < sum(want) < len(want)


def test_bands_make_pairs_at_threshold_candidates():
    b, r = choose_bands(0.8, 128)
    assert b * r <= 128 and 1 - (1 - 0.8**r) ** b >= 0.98


def test_connected_components_match_networkx(spark, tmp_path):
    rng = random.Random(3)
    edges = [(rng.randrange(300), rng.randrange(300)) for _ in range(260)]
    edges += [(i, i + 1) for i in range(400, 424)]  # a long path: the worst case for label propagation
    ctx = RunContext(spark, tmp_path / "scratch", 4)
    df = spark.createDataFrame([(int(a), int(b)) for a, b in edges], "a long, b long")
    g = nx.Graph()
    g.add_edges_from(edges)
    g.remove_edges_from(nx.selfloop_edges(g))
    want = {n: min(c) for c in nx.connected_components(g) if len(c) > 1 for n in c}
    for driver_edges in (10_000, 0):  # solved on the driver, and in Spark rounds
        got = {r["node"]: r["component"] for r in connected_components(ctx, df, driver_edges=driver_edges).collect()}
        assert got == want


def _planted(seed: int = 7):
    rng = random.Random(seed)
    rows, truth = [], set()
    for i in range(60):
        base = _doc(rng)
        rows.append((f"b{i:03d}", base))
        if i % 3 == 0:  # near copies: a few words changed, and an exact copy
            rows.append((f"n{i:03d}", _mutate(base, rng, 2)))
            rows.append((f"e{i:03d}", base))
            truth.add(i)
    return rows, truth


def _work_frame(spark, docs, partitions):
    data = [(i + 1, 0, i + 1, rid, "s", "text", "text", text, json.dumps({"text": text}), "{}")
            for i, (rid, text) in enumerate(docs)]
    return spark.createDataFrame(data, WORK_DDL).repartition(partitions)


def test_minhash_survivors_independent_of_partitions(spark, tmp_path):
    docs, truth = _planted()
    step = MinHashDedup(threshold=0.8, ngram=5, num_perm=128)
    results = []
    for parts in (1, 5):
        ctx = RunContext(spark, tmp_path / f"scratch{parts}", parts)
        drops = step.drops(ctx, _work_frame(spark, docs, parts)).collect()
        results.append(sorted((r["_node"], r["reason"], r["cluster_id"]) for r in drops))
    assert results[0] == results[1]
    ids = {i + 1: rid for i, (rid, _) in enumerate(docs)}
    dropped = {ids[n]: cluster for n, _, cluster in results[0]}
    # each planted group keeps its smallest id (the base "bNNN" sorts first) and drops the two copies
    assert dropped == {f"{p}{i:03d}": f"b{i:03d}" for i in truth for p in ("e", "n")}


def test_connected_components_of_pairs_and_stars_skip_the_rounds(spark, tmp_path):
    ctx = RunContext(spark, tmp_path / "scratch", 2)
    edges = [(2, 1), (3, 1), (9, 5), (20, 7)]  # already stars around each component's smallest node
    df = spark.createDataFrame(edges, "a long, b long")
    got = {r["node"]: r["component"] for r in connected_components(ctx, df, driver_edges=0).collect()}
    assert got == {1: 1, 2: 1, 3: 1, 5: 5, 9: 5, 7: 7, 20: 7}
