"""Model construction (HF config from scratch, or a local HF checkpoint), attention choice and RoPE.

Nothing is fetched from a model hub and no remote code runs: a checkpoint is a local folder and the
architecture must be one transformers ships.
"""

from __future__ import annotations

from pathlib import Path

from dataforge.core.errors import ForgeError, SpecError
from training.modelcheck import check_resolved
from training.spec import Model

# Attention implementations that take packed documents as cu_seqlens (no mask tensor at all).
VARLEN = ("flash_attention_3", "flash_attention_2")


def pick_attention(requested: str, device_type: str) -> str:
    """`auto`: varlen flash attention on GPU when a flash-attn package is installed, else SDPA.

    On CPU it is always SDPA with an explicit block-diagonal causal mask.
    """
    if device_type != "cuda":
        if requested in VARLEN:
            raise ForgeError(f"model.attention={requested!r} needs a GPU; use 'auto' or 'sdpa' on CPU")
        return "sdpa" if requested == "auto" else requested
    if requested != "auto":
        return requested
    from transformers.utils import is_flash_attn_2_available, is_flash_attn_3_available

    if is_flash_attn_3_available():
        return "flash_attention_3"
    if is_flash_attn_2_available():
        return "flash_attention_2"
    return "sdpa"


def _checkpoint_dir(path: str) -> Path:
    p = Path(path).expanduser()
    if not (p / "config.json").is_file():
        raise ForgeError(f"model.checkpoint {path!r}: not a local HF folder with config.json "
                         "(nothing is downloaded from a model hub)")
    return p


def _one_line(e: Exception) -> str:
    """transformers' config validators report over several lines; the last one says what is wrong."""
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return lines[-1] if lines else type(e).__name__


def build_config(spec: Model, vocab_size: int, max_seq_len: int):
    """The HF config: the spec's fields over the model type's defaults, sized to the tokenizer.

    Refuses, in one line naming the field, a shape the model cannot have (see training/modelcheck.py).
    """
    from transformers import AutoConfig

    if spec.checkpoint is not None:
        path = _checkpoint_dir(spec.checkpoint)
        try:
            config = AutoConfig.from_pretrained(path, trust_remote_code=False)
        except Exception as e:  # noqa: BLE001 - a bad config.json is the user's to fix
            raise SpecError(f"run.model.checkpoint {str(path / 'config.json')!r}: {_one_line(e)}") from e
    else:
        fields = dict(spec.config)
        model_type = fields.pop("model_type")
        fields.setdefault("vocab_size", vocab_size)
        try:
            config = AutoConfig.for_model(model_type, **fields)
        except Exception as e:  # noqa: BLE001 - unknown type, or a field transformers refuses
            raise SpecError(f"run.model.config (model_type {model_type!r}): {_one_line(e)}") from e
    try:
        check_resolved(config, spec.config, vocab_size, max_seq_len)
    except ValueError as e:
        raise SpecError(str(e)) from None
    if getattr(config, "max_position_embeddings", max_seq_len) < max_seq_len:
        # not given by the spec (that is refused above): the default or a checkpoint's, extended
        config.max_position_embeddings = max_seq_len
    return config


def build_model(spec: Model, vocab_size: int, max_seq_len: int, attention: str, seed: int):
    """A causal LM in fp32, initialized from `seed` (from scratch) or loaded from the checkpoint."""
    import torch
    from transformers import AutoModelForCausalLM

    config = build_config(spec, vocab_size, max_seq_len)
    torch.manual_seed(seed)
    if spec.checkpoint is not None:
        model = AutoModelForCausalLM.from_pretrained(
            _checkpoint_dir(spec.checkpoint), config=config, dtype=torch.float32,
            attn_implementation=attention, trust_remote_code=False)
    else:
        model = AutoModelForCausalLM.from_config(config, attn_implementation=attention, dtype=torch.float32)
    if spec.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False
    return model


def rope_theta(config) -> float | None:
    params = getattr(config, "rope_parameters", None) or {}
    if "rope_theta" in params:
        return float(params["rope_theta"])
    return getattr(config, "rope_theta", None)


def set_rope_theta(model, theta: float) -> None:
    """Change the RoPE base in place (context extension at a stage switch).

    The inverse frequencies are non-persistent buffers computed from the config, so updating the
    config and recomputing them is all there is; the saved HF config then carries the new base.
    """
    import torch

    config = model.config
    params = getattr(config, "rope_parameters", None)
    if isinstance(params, dict) and "rope_theta" in params:
        params["rope_theta"] = float(theta)
    elif isinstance(params, dict) and params and all(isinstance(v, dict) for v in params.values()):
        for per_layer_type in params.values():
            per_layer_type["rope_theta"] = float(theta)
    else:
        config.rope_theta = float(theta)
    found = False
    for module in model.modules():
        if type(module).__name__.endswith("RotaryEmbedding") and hasattr(module, "inv_freq"):
            fresh = type(module)(config=config)
            with torch.no_grad():
                module.inv_freq.copy_(fresh.inv_freq.to(module.inv_freq.device))
                if hasattr(module, "original_inv_freq"):
                    module.original_inv_freq.copy_(fresh.original_inv_freq.to(module.inv_freq.device))
            module.attention_scaling = fresh.attention_scaling
            found = True
    if not found:
        raise ForgeError(f"run.rope_theta: {type(model).__name__} has no rotary embedding to rebase")


def count_params(model) -> int:
    """Parameters as the MFU formula counts them (all of them; tied weights once, ZeRO-3 aware)."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += int(getattr(p, "ds_numel", 0) or p.numel())
    return total
