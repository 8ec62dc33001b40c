"""Fixtures of the training tests: real text tokenized with the embedded model's tokenizer, a tiny Llama."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DS_ACCELERATOR", "cpu")

TEXTS = [
    "The river rose for three days before the town council agreed to open the old spillway.",
    "Photosynthesis converts light energy into chemical energy stored in glucose molecules.",
    "In 1887 the first electric streetcar line opened in Richmond, Virginia, and within a decade "
    "hundreds of cities had followed.",
    "def add(a, b):\n    return a + b\n",
    "A prime number has exactly two divisors: one and itself. Seven is prime; nine is not.",
    "Bread rises because yeast ferments sugar and releases carbon dioxide into the dough.",
]

TINY_LLAMA = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
              "num_attention_heads": 4, "num_key_value_heads": 2}


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from dataforge.core.models import embedded_llm_dir

    return AutoTokenizer.from_pretrained(str(embedded_llm_dir()))


@pytest.fixture(scope="session")
def documents(tokenizer):
    import numpy as np

    return [np.asarray(tokenizer(t)["input_ids"], dtype=np.uint32) for t in TEXTS]


@pytest.fixture(scope="session")
def tiny_model(tokenizer):
    from training.model import build_model
    from training.spec import Model

    return build_model(Model(config=TINY_LLAMA), len(tokenizer), 256, "sdpa", seed=0).eval()
