"""The mixture's tokenizer: resolve it, hash it, copy it into the mixture, ship it to executors.

Executors never read the driver's tokenizer path: the driver broadcasts the tokenizer.json bytes, the chat
template and the special tokens, and each Python worker builds its tokenizer from them once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_bytes, stable_hash

# The special-token attributes an HF tokenizer passes to its chat template.
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")

# Files that make up a tokenizer folder (model weights and configs are left behind).
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                    "chat_template.jinja", "chat_template.json", "vocab.json", "vocab.txt", "merges.txt",
                    "tokenizer.model", "spiece.model")
_LOADED: dict[tuple[str, ...], object] = {}


@dataclass(frozen=True, slots=True)
class TokenizerInfo:
    """A resolved tokenizer: `files` maps file name -> bytes (what is copied into the mixture and shipped)."""

    spec: str
    name: str
    path: Path
    hash: str
    files: dict[str, bytes]
    eos_id: int | None = None
    vocab_size: int = 0
    chat_template: str | None = None
    special_tokens: dict[str, str] = field(default_factory=dict)

    def describe(self) -> dict:
        return {"spec": self.spec, "name": self.name, "hash": self.hash, "eos_id": self.eos_id,
                "vocab_size": self.vocab_size, "has_chat_template": self.chat_template is not None,
                "files": sorted(self.files)}

    def save(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(self.files.items()):
            (out / name).write_bytes(data)
        return out

    def payload(self) -> dict:
        """What executors need (broadcast once): the files, the chat template and the special tokens."""
        return {"files": self.files, "hash": self.hash, "chat_template": self.chat_template,
                "special_tokens": self.special_tokens}


def resolve_tokenizer_dir(spec: str) -> tuple[Path, str]:
    """`embedded` -> the embedded SmolLM2 folder; else a local HF tokenizer folder. Returns (dir, name)."""
    if spec == "embedded":
        from dataforge.core.models import EMBEDDED_LLM, embedded_llm_dir

        return embedded_llm_dir(), EMBEDDED_LLM
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise ForgeError(f"Mixture.tokenizer: {spec!r} is not a local folder; give an HF tokenizer folder "
                         "(with tokenizer.json) or 'embedded' (nothing is downloaded from a model hub)")
    return path.absolute(), path.name


def _hash(files: dict[str, bytes]) -> str:
    return stable_hash({n: sha256_bytes(b) for n, b in files.items()}, 64)


def tokenizer_identity(spec: str) -> TokenizerInfo:
    """Files and hash only (no parsing) when the folder has tokenizer.json: all a mixture id needs."""
    path, name = resolve_tokenizer_dir(spec)
    files = {n: (path / n).read_bytes() for n in _TOKENIZER_FILES if (path / n).is_file()}
    if "tokenizer.json" not in files:
        return load_tokenizer_info(spec)
    return TokenizerInfo(spec=spec, name=name, path=path, hash=_hash(files), files=files)


def _load_hf(path: Path):
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    except Exception as e:  # noqa: BLE001 - any load failure is the user's folder
        raise ForgeError(f"Mixture.tokenizer: cannot load an HF tokenizer from {path} ({type(e).__name__}: {e})") from e


def load_tokenizer_info(spec: str) -> TokenizerInfo:
    """Read the tokenizer on the driver: its files, EOS id, vocabulary size, chat template, special tokens.

    Read from tokenizer.json and tokenizer_config.json directly, as transformers reads them, so the
    driver needs neither torch nor the HF tokenizer classes; a folder with only a slow tokenizer is
    converted once through transformers.
    """
    path, name = resolve_tokenizer_dir(spec)
    files = {n: (path / n).read_bytes() for n in _TOKENIZER_FILES if (path / n).is_file()}
    if "tokenizer.json" not in files:
        tok = _load_hf(path)
        if not getattr(tok, "is_fast", False):
            raise ForgeError(f"Mixture.tokenizer: {path} has no fast (Rust) tokenizer; convert it with "
                             "AutoTokenizer.from_pretrained(...).save_pretrained(...) to get tokenizer.json")
        # Keep the converted fast form, so every build of this folder agrees on ids.
        tmp = Path(tempfile.mkdtemp(prefix="forge-tok-"))
        try:
            tok.save_pretrained(str(tmp))
            files = {n: (tmp / n).read_bytes() for n in _TOKENIZER_FILES if (tmp / n).is_file()}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    from tokenizers import Tokenizer

    try:
        rust = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
        config = json.loads(files.get("tokenizer_config.json", b"{}"))
        legacy = json.loads(files.get("special_tokens_map.json", b"{}"))
    except Exception as e:  # noqa: BLE001 - a broken file in the user's folder
        raise ForgeError(f"Mixture.tokenizer: cannot read the tokenizer in {path} ({type(e).__name__}: {e})") from e
    special = {}
    for attr in SPECIAL_TOKENS:
        token = _token_text(config.get(attr)) or _token_text(legacy.get(attr))
        if token:
            special[attr] = token
    eos_id = rust.token_to_id(special["eos_token"]) if "eos_token" in special else None
    return TokenizerInfo(spec=spec, name=name, path=path, hash=_hash(files), files=files, eos_id=eos_id,
                         vocab_size=rust.get_vocab_size(with_added_tokens=True),
                         chat_template=_chat_template(files, config), special_tokens=special)


def _token_text(value) -> str | None:
    # tokenizer_config.json stores a special token as a string or as a serialized AddedToken.
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) and value else None


def _chat_template(files: dict[str, bytes], config: dict) -> str | None:
    """The default chat template, looked up where transformers looks: chat_template.jinja, then
    chat_template.json, then tokenizer_config.json (a string, or a list of named templates)."""
    if "chat_template.jinja" in files:
        return files["chat_template.jinja"].decode("utf-8")
    template = json.loads(files["chat_template.json"]).get("chat_template") if "chat_template.json" in files \
        else config.get("chat_template")
    if isinstance(template, list):
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default") or next(iter(named.values()), None)
    return template if isinstance(template, str) and template else None


def rust_tokenizer(payload: dict):
    """The `tokenizers.Tokenizer` behind the HF fast tokenizer, loaded once per Python worker."""
    key = ("rust", payload["hash"])
    if key not in _LOADED:
        # Spark already runs one task per core; Rayon threads inside each task would oversubscribe.
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        from tokenizers import Tokenizer

        _LOADED[key] = Tokenizer.from_str(payload["files"]["tokenizer.json"].decode("utf-8"))
    return _LOADED[key]


def chat_renderer(payload: dict, template: str | None = None):
    """Renders conversations with `template` (default: the tokenizer's chat template), as
    `apply_chat_template` does, without loading the HF tokenizer class (whose import pulls in torch) on
    every executor."""
    template = payload["chat_template"] if template is None else template
    key = ("chat", payload["hash"], sha256_bytes(template.encode("utf-8")))
    if key not in _LOADED:
        _LOADED[key] = ChatRenderer(template, payload["special_tokens"])
    return _LOADED[key]


class ChatRenderer:
    """`render(messages, ...)` -> (text, generation spans); spans only for `{% generation %}` templates."""

    def __init__(self, template: str, special_tokens: dict[str, str]):
        from transformers.utils.chat_template_utils import render_jinja_template

        self._render, self.template, self.special = render_jinja_template, template, special_tokens
        self.marked = bool(re.search(r"\{%-?\s*generation\s*-?%\}", template))

    def render(self, messages, add_generation_prompt: bool = False, spans: bool = False, **kwargs):
        texts, indices = self._render(conversations=[messages], chat_template=self.template,
                                      add_generation_prompt=add_generation_prompt,
                                      return_assistant_tokens_mask=spans, **{**self.special, **kwargs})
        return texts[0], (list(indices[0]) if spans and indices else [])
