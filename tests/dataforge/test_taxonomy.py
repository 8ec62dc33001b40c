"""Taxonomy expansion: depth-first, k children per node, siblings deduplicated, leaves as seeds."""

from dataforge import (
    CachedBackend,
    CallCache,
    Document,
    Graph,
    Sampling,
    Taxonomy,
    Topic,
    generate,
    resolve_seeds,
)
from dataforge.taxonomy import _clean, _listed_items, _near, _norm, _plausible
from tests.dataforge.shapes import ask


def test_sibling_normalization_catches_case_punctuation_order_and_near_duplicates():
    assert _norm("Bread  Baking!") == _norm("baking, bread")
    assert _near(_norm("sourdough bread baking"), _norm("baking sourdough bread at home"), 0.6)
    assert not _near(_norm("sourdough bread"), _norm("pastry lamination"), 0.6)
    assert _clean("2) Yeast fermentation.") == "Yeast fermentation" and _clean("- 'Ovens'") == "Ovens"
    assert _clean("3. Sourdough: a starter culture") == "Sourdough"
    assert _listed_items("Here are three:\n1. Rye\n2. Spelt\nEnjoy!") == ["1. Rye", "2. Spelt"]
    assert not _plausible(",:param:})  # 19.4") and not _plausible("0%") and _plausible("Whole grain flours")


def test_taxonomy_expands_depth_first_into_distinct_leaves(embedded_llm, tmp_path):
    llm = CachedBackend(embedded_llm, CallCache(tmp_path))
    tax = Taxonomy(domain="bread baking", k=2, depth=2, attempts=2, sampling=Sampling(max_tokens=32))
    leaves = tax.expand(llm)
    assert 1 <= len(leaves) <= 4 and all(isinstance(t, Topic) for t in leaves)
    assert all(t.path[0] == "bread baking" and t.text == " > ".join(t.path) for t in leaves)
    assert len({t.id for t in leaves}) == len(leaves)
    for parent in {tuple(t.path[:-1]) for t in leaves}:
        kids = [_norm(t.path[-1]) for t in leaves if tuple(t.path[:-1]) == parent]
        assert len(set(kids)) == len(kids)  # no duplicate siblings
    # depth-first: all leaves under the first child come before those under the second
    firsts = [t.path[1] for t in leaves]
    assert firsts == sorted(firsts, key=firsts.index)
    assert llm.calls >= 1 + len({t.path[1] for t in leaves if len(t.path) == 3})
    made = llm.calls
    assert [t.id for t in tax.expand(llm)] == [t.id for t in leaves]  # seeded: the same calls again...
    assert llm.calls == made and llm.hits == made  # ...all answered from the cache


def test_taxonomy_leaves_seed_a_graph(embedded_llm):
    tax = Taxonomy(domain="volcanoes", k=2, depth=1, attempts=2, sampling=Sampling(max_tokens=32))
    g = Graph("topics", Document, [ask()])
    seeds = resolve_seeds(tax.expand(embedded_llm), g)
    assert all(isinstance(s, Document) and s.text.startswith("volcanoes > ") for s in seeds)
    result = generate(g, seeds, backend=embedded_llm, use_cache=False)
    assert result.stats.totals["walks"] == len(seeds)
