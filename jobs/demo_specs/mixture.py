"""The demo's two-stage mixture: pretrain on web text, then an SFT stage mixing web and generated chat.

    forge mix build specs/mixture.py --registry registry

Both sources come from the one curated dataset (`../curated`, relative to this file): its text
records are the web crawl, its chat records the generated question-answer pairs.
"""

from mixtures import Mixture, Source, Stage

web = Source("web", path="../curated", kind="text", holdout_docs=8)
synthetic = Source("synthetic", path="../curated", kind="chat", max_epochs=16, holdout_docs=2)

mixture = Mixture(
    name="demo", tokenizer="embedded", seed=1234,
    stages=[
        Stage("stable", tokens=48_000, seq_len=256, weights={web: 1.0}),
        Stage("sft", tokens=12_000, seq_len=256, weights={web: 0.6, synthetic: 0.4}),
    ],
)
