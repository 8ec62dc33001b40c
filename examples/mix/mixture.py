"""An example mixture: a pretraining stage and an SFT stage over the small datasets in data/.

    forge mix build examples/mix/mixture.py --registry registry     # prints the mixture id
    forge mix show <id> --registry registry

Relative source paths are resolved beside this file first, then in the working directory. A path may
also be an engine dataset dir (manifest.json + data/*.parquet) or a manifest id.
"""

from mixtures import Mixture, Source, Stage

web = Source("web", path="data/web")                    # plain JSONL text records: id, text
math = Source("math", path="data/math", max_epochs=6)   # may be repeated at most 6 times over all stages
chat = Source("chat", path="data/chat", max_epochs=4)   # chat records: a stage that uses it is an SFT stage

mixture = Mixture(
    name="example", tokenizer="embedded", seed=0,
    description="Small example over hand-written data shipped with DataForge.",
    stages=[
        Stage("stable", tokens=2_000, seq_len=256, weights={web: 0.8, math: 0.2}),
        Stage("sft", tokens=1_000, seq_len=512, weights={chat: 0.6, web: 0.2, math: 0.2}),
    ],
)
