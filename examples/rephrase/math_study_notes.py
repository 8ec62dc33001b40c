"""Kimi K2's math recipe: rewrite math texts as step-by-step study notes, and translate them, with an
LLM judge on top of the MiniLM fidelity check.

    forge generate examples/rephrase/math_study_notes.py --out out/math-notes --seed 0

Translation output is not English, so its MiniLM score is recorded but does not gate it (MiniLM
compares English texts); the LLM judge grades every chunk of every style. The ledger
(`REPHRASE_LEDGER`, default out/rephrase-exposure) is shared with examples/rephrase/rephrase.py, so
a document rephrased twice there is refused here. Set FORGE_EXAMPLE_SMOKE=1 for a tiny smoke run.
"""

import json
import os
from pathlib import Path

from dataforge import Document, Sampling
from dataforge.rephrase import STYLES, RephraseConfig, rephrase_graph

SMOKE = os.environ.get("FORGE_EXAMPLE_SMOKE") == "1"

config = RephraseConfig(
    styles=("study_notes", STYLES["translation"].with_params(target_language="German")),
    weights={"study_notes": 3.0},
    ledger=os.environ.get("REPHRASE_LEDGER", "out/rephrase-exposure"),
    chunk_tokens=256 if SMOKE else 512,
    sampling=Sampling(max_tokens=8 if SMOKE else 512, temperature=0.6, top_p=0.95),
    min_fidelity=0.6,
    judge=True,
    judge_threshold=3.0,
    judge_sampling=Sampling(max_tokens=8 if SMOKE else 64, temperature=0.0),
    allow_truncated=SMOKE,
)
graph = rephrase_graph(config, name="math_study_notes")
# The math documents of the corpus: a spec's seeds may be any list of Document structs.
rows = [json.loads(line) for line in (Path(__file__).parent / "docs.jsonl").read_text("utf-8").splitlines()]
seeds = [Document(**r) for r in rows if r["id"] in ("compound-interest", "pythagoras")]
walks = 2
