"""An example mixture with the stages of a post-training run: stable -> decay -> sft.

    forge mix build examples/mix/stages.py --registry registry     # prints the mixture id
    forge train examples/train/stages.py --mixture ID --registry registry --out runs/stages

The decay stage anneals on a higher share of math; the SFT stage trains on chat records (loss on
assistant tokens only). A preference stage is one more `Stage(...)` entry here and one more
`stage_optim` entry in examples/train/stages.py.
"""

from mixtures import Mixture, Source, Stage

web = Source("web", path="data/web")
math = Source("math", path="data/math", max_epochs=8)
chat = Source("chat", path="data/chat", max_epochs=4)

mixture = Mixture(
    name="stages", tokenizer="embedded", seed=0,
    description="stable -> decay -> sft over the small hand-written example data.",
    stages=[
        Stage("stable", tokens=2_000, seq_len=256, weights={web: 0.8, math: 0.2}),
        Stage("decay", tokens=800, seq_len=256, weights={web: 0.5, math: 0.5}),
        Stage("sft", tokens=800, seq_len=512, weights={chat: 0.8, web: 0.2}),
    ],
)
