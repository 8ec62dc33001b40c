"""The sampling plan, on synthetic token counts (no Spark): budgets, epochs, fresh data, spreading."""

import itertools

import numpy as np
import pytest

from dataforge.core.errors import ForgeError
from mixtures import Mixture, Source, Stage
from mixtures.plan import SourceDocs, build_plan


def docs(name: str, ntok: list[int], kind: str = "text") -> SourceDocs:
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    keys = np.sort(rng.integers(-2**62, 2**62, len(ntok)))
    return SourceDocs(name=name, kind=kind, keys=keys, chash=keys.copy(), ntok=np.asarray(ntok, np.int64),
                      doc_ids=[f"{name}-{i}" for i in range(len(ntok))])


def mixture(stages, holdout=0, max_epochs=None, seed=0) -> Mixture:
    web, math = Source("web", path="w", holdout_docs=holdout), Source("math", path="m", holdout_docs=holdout,
                                                                       max_epochs=max_epochs)
    by = {"web": web, "math": math}
    return Mixture(name="t", tokenizer="t", seed=seed, stages=[
        Stage(n, tokens=t, seq_len=s, weights={by[k]: w for k, w in ws.items()}) for n, t, s, ws in stages])


def test_every_stage_gets_exactly_its_target_tokens_per_source():
    rng = np.random.default_rng(0)
    m = mixture([("a", 50_001, 512, {"web": 0.73, "math": 0.27}), ("b", 9_999, 256, {"web": 0.4, "math": 0.6})])
    plan = build_plan(m, {"web": docs("web", rng.integers(5, 3000, 200).tolist()),
                          "math": docs("math", rng.integers(5, 400, 100).tolist())})
    for st, spec in zip(plan.stages, m.stages, strict=True):
        assert st["tokens"] == spec.budget
        for name, target in spec.target_tokens().items():
            assert st["sources"][name]["tokens"] == target
            assert abs(st["sources"][name]["realized_weight"] - spec.target_weights()[name]) < 1e-9
        assert int(st["pieces"].length.max()) <= spec.seq_len


def test_a_later_stage_reads_fresh_documents_before_repeating_any():
    m = mixture([("a", 3_000, 64, {"web": 1.0}), ("b", 3_000, 64, {"web": 1.0})])
    plan = build_plan(m, {"web": docs("web", [100] * 100)})  # 10,000 tokens: 0.6 epochs in all
    seen = [{int(d) for d in st["pieces"].doc} for st in plan.stages]
    assert len(seen[0] & seen[1]) <= 1  # only a document cut at the stage boundary is shared


def test_upsampled_source_repeats_each_document_about_equally():
    m = mixture([("a", 25_000, 4096, {"web": 1.0})])
    plan = build_plan(m, {"web": docs("web", [100] * 100)})  # 2.5 epochs
    t = plan.stages[0]["pieces"]
    passes = np.bincount(t.doc[t.piece_index == 0], minlength=100)
    assert set(passes.tolist()) <= {2, 3} and plan.stages[0]["sources"]["web"]["epochs"] == 2.5


def test_long_document_pieces_are_spread_across_the_stage():
    lengths = [64 * 300] + [40] * 5000  # one document of 300 pieces among 5000 short ones
    m = mixture([("a", 64 * 300 + 40 * 5000, 64, {"web": 1.0})])  # exactly one epoch
    plan = build_plan(m, {"web": docs("web", lengths)})
    t = plan.stages[0]["pieces"]
    long_doc = int(t.doc[np.argmax(t.num_pieces)])
    assert int(t.num_pieces.max()) >= 250
    assert max(len(list(g)) for _, g in itertools.groupby(t.doc.tolist())) == 1
    gaps = np.diff(np.flatnonzero(t.doc == long_doc))
    assert gaps.min() >= 5  # never clustered: about len/300 apart


def test_seed_changes_order_not_amounts():
    stages = [("a", 20_000, 128, {"web": 0.5, "math": 0.5})]
    src = {"web": docs("web", [150] * 100), "math": docs("math", [80] * 200)}
    a = build_plan(mixture(stages, seed=1), {k: docs(k, v.ntok.tolist()) for k, v in src.items()})
    b = build_plan(mixture(stages, seed=2), {k: docs(k, v.ntok.tolist()) for k, v in src.items()})
    assert a.stages[0]["sources"]["web"]["tokens"] == b.stages[0]["sources"]["web"]["tokens"]
    assert a.stages[0]["pieces"].doc.tolist() != b.stages[0]["pieces"].doc.tolist()


def test_epoch_cap_is_checked_over_all_stages_and_names_the_stage():
    m = mixture([("stable", 10_000, 64, {"web": 0.9, "math": 0.1}), ("decay", 9_000, 64, {"web": 0.6, "math": 0.4})],
                max_epochs=4)
    with pytest.raises(ForgeError, match=r"^source math needs 4\.6 epochs in stage decay, max_epochs=4: it has 1,000 "
                                         r"training tokens and the stages up to decay ask for 4,600;"):
        build_plan(m, {"web": docs("web", [100] * 200), "math": docs("math", [20] * 50)})


def test_holdout_documents_never_reach_training():
    m = mixture([("a", 30_000, 64, {"web": 1.0})], holdout=8)
    plan = build_plan(m, {"web": docs("web", [50] * 100)})
    held = set(plan.validation["web"]["pieces"].doc.tolist())
    assert len(held) == 8 and not held & set(plan.stages[0]["pieces"].doc.tolist())
