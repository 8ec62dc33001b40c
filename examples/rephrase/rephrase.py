"""Rephrase a small knowledge corpus in several styles, with fidelity checks and an exposure cap.

    forge generate examples/rephrase/rephrase.py --out out/rephrased --walks 8 --seed 0

Each walk takes one document through the exposure gate, one style (encyclopedic, Q&A, lecture, or
the user-defined `glossary` style below), MiniLM fidelity, and records the kept rephrase in the
exposure ledger (`REPHRASE_LEDGER`, default out/rephrase-exposure). Walks are dealt round-robin over
the 4 documents, so 8 walks rephrase each document twice, the default cap: run the same command with
`--seed 1` and the walks of every document whose two rephrases were kept are refused (quarantined as
`exposure_cap`). With the embedded 135M model many rephrases fall below the fidelity threshold and are
quarantined with their scores (those are not exposures).
Set FORGE_EXAMPLE_SMOKE=1 for a seconds-long smoke run with tiny token budgets.
"""

import os

from dataforge import BackendSpec, Sampling
from dataforge.rephrase import RephraseConfig, RephraseStyle, rephrase_graph

SMOKE = os.environ.get("FORGE_EXAMPLE_SMOKE") == "1"

glossary = RephraseStyle(
    name="glossary",
    instruction="Rewrite the text as a glossary: each key term in bold, followed by a one-sentence definition "
                "that keeps the text's facts and numbers.",
)

config = RephraseConfig(
    styles=("encyclopedic", "question_answer", "lecture", glossary),
    weights={"encyclopedic": 2.0},
    ledger=os.environ.get("REPHRASE_LEDGER", "out/rephrase-exposure"),
    chunk_tokens=256 if SMOKE else 512,
    sampling=Sampling(max_tokens=8 if SMOKE else 384, temperature=0.7, top_p=0.95),
    min_fidelity=0.6,
    min_chunk_fidelity=0.4,
    allow_truncated=SMOKE,
)
graph = rephrase_graph(config, name="rephrase_styles")
seeds = "docs.jsonl"
walks = 8
backend = BackendSpec(kind="transformers", batch_size=8)
