"""Model shape checks that name the field, run before DeepSpeed or the model exist.

An HF config with zero heads ends in a ZeroDivisionError deep inside transformers, and a head count
that does not divide the hidden size in a multi-line validation report. These checks say which
`run.model.config` field is wrong, in one line. They run twice: on the fields a spec gives (when the
spec is built, no transformers import) and on the resolved config (the model type's defaults filled
in, the tokenizer and the mixture known) before the first process group or model is made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# Sizes that must be positive integers when given (HF names; attribute maps cover gpt2-style names).
SIZES = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
         "head_dim", "vocab_size", "max_position_embeddings")
WHERE = "run.model.config"


def check_fields(fields: Mapping[str, Any]) -> None:
    """Check the fields a spec gives; raise ValueError naming the first bad one."""
    for name in SIZES:
        v = fields.get(name)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{WHERE}.{name}: must be a whole number >= 1 (got {v!r})")
        if v < 1:
            raise ValueError(f"{WHERE}.{name}: must be >= 1 (got {v})")
    for name in ("rope_theta", "rms_norm_eps", "layer_norm_eps", "initializer_range"):
        v = fields.get(name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v)
                              or v <= 0):
            raise ValueError(f"{WHERE}.{name}: must be a finite number > 0 (got {v!r})")
    check_shape(fields, explicit_head_dim="head_dim" in fields and fields["head_dim"] is not None)


def check_shape(get: Mapping[str, Any], explicit_head_dim: bool, defaults: str = "") -> None:
    """Heads must split the hidden size (unless head_dim is explicit) and KV heads must split heads.

    `defaults` names the model type whose defaults filled the fields the spec left out.
    """
    hidden, heads, kv = get.get("hidden_size"), get.get("num_attention_heads"), get.get("num_key_value_heads")
    note = f" ({defaults} defaults for the fields not given)" if defaults else ""
    if hidden and heads and not explicit_head_dim and hidden % heads:
        raise ValueError(f"{WHERE}.hidden_size: {hidden} is not divisible by num_attention_heads {heads}{note}; "
                         "change one of them or give head_dim")
    if heads and kv and heads % kv:
        raise ValueError(f"{WHERE}.num_key_value_heads: {kv} does not divide num_attention_heads {heads}{note}")


def check_resolved(config, given: Mapping[str, Any] | None, vocab_size: int, max_seq_len: int) -> None:
    """The built HF config against the spec, the tokenizer and the mixture (ValueError on a problem).

    Args:
        config: the HF config (spec fields over the model type's defaults, or a checkpoint's).
        given: the spec's `model.config` fields (None for a checkpoint).
        vocab_size: the mixture tokenizer's size.
        max_seq_len: the longest stage sequence length of the mixture.
    """
    resolved = {n: getattr(config, n, None) for n in SIZES}
    for name, v in resolved.items():
        if isinstance(v, int) and not isinstance(v, bool) and v < 1:
            raise ValueError(f"{WHERE}.{name}: must be >= 1 (got {v})")
    explicit = bool(given and given.get("head_dim") is not None) or given is None
    check_shape(resolved, explicit_head_dim=explicit, defaults=getattr(config, "model_type", ""))
    if config.vocab_size < vocab_size:
        raise ValueError(f"{WHERE}.vocab_size: {config.vocab_size} < the mixture tokenizer's {vocab_size} tokens; "
                         "raise it or leave it out to use the tokenizer's")
    given_max = (given or {}).get("max_position_embeddings")
    if given_max is not None and given_max < max_seq_len:
        raise ValueError(f"{WHERE}.max_position_embeddings: {given_max} < the mixture's longest seq_len "
                         f"{max_seq_len}; raise it or leave it out")
