"""IFThink: single-turn instructions grown into 3-turn conversations with verifiable constraints, each
generated in think mode (a reasoning trace in <think>...</think>) and no-think mode (an empty think
block) from the same plan. Only conversations whose every turn passes every active constraint are
kept; the rest are quarantined with the failing instruction ids and turn numbers.

    forge generate examples/ifthink/ifthink.py --out out/ifthink --seed 0

Output: chat records (`messages`, `chat_template_kwargs.enable_thinking`, constraints per turn under
`metadata.ifthink`), ready for an SFT stage of a mixture. The embedded 135M model fails most
constraints, so expect few records and many quarantined conversations; use a stronger model
(`--backend vllm --model /path/to/model`) for real data. FORGE_EXAMPLE_SMOKE=1: tiny budgets.
"""

import json
import os
from pathlib import Path

from dataforge import BackendSpec
from dataforge.ifthink import IFThinkConfig, ifthink_graph, ifthink_seeds

SMOKE = os.environ.get("FORGE_EXAMPLE_SMOKE") == "1"

config = IFThinkConfig(
    turns=3,
    per_turn=(1, 2),
    max_tokens=16 if SMOKE else 192,
    reasoning_max_tokens=12 if SMOKE else 160,
    temperature=0.7,
    seed=0,
)
graph = ifthink_graph(config)
instructions = [json.loads(line) for line in (Path(__file__).parent / "instructions.jsonl").read_text().splitlines()]
seeds = ifthink_seeds(instructions)  # each instruction twice: think and no-think, sharing one plan
backend = BackendSpec(kind="transformers", batch_size=16)
