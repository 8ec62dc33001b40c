import pytest

from mixtures import Mixture, MixtureSpecError, Source, Stage

web = Source("web", path="curated/web")
math = Source("math", path="curated/math", max_epochs=4)


def test_example_spec_from_issue_validates_and_serializes():
    mixture = Mixture(
        name="demo", tokenizer="path/to/hf-tokenizer", seed=1234,
        stages=[Stage("stable", tokens=2_000_000, seq_len=2048, weights={web: 0.9, math: 0.1}),
                Stage("decay", tokens=500_000, seq_len=2048, weights={web: 0.6, math: 0.4})],
    )
    assert [s.name for s in mixture.sources] == ["math", "web"]
    assert mixture.stages[1].target_tokens() == {"web": 300_000, "math": 200_000}
    spec = mixture.to_json()
    assert spec["stages"][0]["weights"] == {"web": 0.9, "math": 0.1}
    assert Mixture(**spec).to_json() == spec  # the manifest's config rebuilds the same spec


def test_weights_that_do_not_sum_to_one_name_the_stage():
    with pytest.raises(MixtureSpecError, match=r"Stage\('decay'\)\.weights: proportions sum to 0\.95, not 1"):
        Stage("decay", tokens=100, weights={web: 0.6, math: 0.35})
    Stage("ok", tokens=100, weights={web: 0.6, math: 0.4 + 5e-7})  # within 1e-6


def test_unknown_source_is_named_with_its_stage():
    with pytest.raises(MixtureSpecError, match=r"stages\[1\]\.weights: unknown source 'code' in stage 'decay'"):
        Mixture(name="m", tokenizer="t", stages=[Stage("stable", tokens=10, weights={web: 1.0}),
                                                 Stage("decay", tokens=10, weights={"code": 1.0})])


def test_absolute_token_counts_set_the_budget_and_must_agree_with_tokens():
    st = Stage("s", weights={web: 7000, math: 3000})
    assert st.budget == 10_000 and st.target_weights() == {"web": 0.7, "math": 0.3}
    with pytest.raises(MixtureSpecError, match=r"Stage\('s'\)\.tokens: 9000 but the weights' token counts sum to 10000"):
        Stage("s", tokens=9000, weights={web: 7000, math: 3000})
    with pytest.raises(MixtureSpecError, match="whole numbers"):
        Stage("s", weights={web: 7000.5, math: 3000})


def test_proportions_need_a_budget_and_round_to_it_exactly():
    with pytest.raises(MixtureSpecError, match=r"Stage\('s'\)\.tokens: missing"):
        Stage("s", weights={web: 0.5, math: 0.5})
    c = Source("c", path="x")
    st = Stage("s", tokens=1001, weights={web: 1 / 3, math: 1 / 3, c: 1 / 3})
    assert sum(st.target_tokens().values()) == 1001


def test_field_errors_are_one_line_and_name_the_field():
    with pytest.raises(MixtureSpecError) as e:
        Stage("s", tokens="many", weights={web: 1.0})
    assert str(e.value).startswith("Stage('s').tokens:") and "\n" not in str(e.value)
    with pytest.raises(MixtureSpecError, match=r"Source\('m'\)\.max_epochs"):
        Source("m", path="x", max_epochs=0)
    with pytest.raises(MixtureSpecError, match="Source name '../etc'"):
        Source("../etc", path="x")
    with pytest.raises(MixtureSpecError, match=r"Mixture\('m'\)\.stages: empty"):
        Mixture(name="m", tokenizer="t", stages=[])


def test_duplicate_stages_and_conflicting_sources_are_refused():
    with pytest.raises(MixtureSpecError, match=r"stages\[1\]\.name: stage 'a' appears twice"):
        Mixture(name="m", tokenizer="t", stages=[Stage("a", tokens=5, weights={web: 1.0}),
                                                 Stage("a", tokens=5, weights={web: 1.0})])
    other_web = Source("web", path="elsewhere")
    with pytest.raises(MixtureSpecError, match="two different sources named 'web'"):
        Mixture(name="m", tokenizer="t", stages=[Stage("a", tokens=5, weights={web: 1.0}),
                                                 Stage("b", tokens=5, weights={other_web: 1.0})])


def test_identity_ignores_locations_but_not_weights():
    def mk(path, w):
        s = Source("web", path=path)
        t = Source("math", path="m")
        return Mixture(name="m", tokenizer="tok", stages=[Stage("a", tokens=10, weights={s: w, t: 1 - w})])

    assert mk("here", 0.5).identity_json() == mk("there", 0.5).identity_json()
    assert mk("here", 0.5).identity_json() != mk("here", 0.6).identity_json()
