"""The mixture's tokenizer: resolve it, hash it, copy it into the mixture, ship it to executors.

Executors never read the driver's tokenizer path: the driver broadcasts the tokenizer files' bytes and
each Python worker writes them once to a local temp dir keyed by their hash, then loads them there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from dataforge.core.errors import ForgeError
from dataforge.core.hashing import sha256_bytes, stable_hash

# Files that make up a tokenizer folder (model weights and configs are left behind).
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
                    "chat_template.jinja", "chat_template.json", "vocab.json", "vocab.txt", "merges.txt",
                    "tokenizer.model", "spiece.model")
_LOADED: dict[tuple[str, str], object] = {}


@dataclass(frozen=True, slots=True)
class TokenizerInfo:
    """A resolved tokenizer: `files` maps file name -> bytes (what is copied and shipped)."""

    spec: str
    name: str
    hash: str
    files: dict[str, bytes]
    eos_id: int | None
    vocab_size: int
    has_chat_template: bool

    def describe(self) -> dict:
        return {"spec": self.spec, "name": self.name, "hash": self.hash, "eos_id": self.eos_id,
                "vocab_size": self.vocab_size, "has_chat_template": self.has_chat_template,
                "files": sorted(self.files)}

    def save(self, out: Path) -> Path:
        out.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(self.files.items()):
            (out / name).write_bytes(data)
        return out


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


def load_tokenizer_info(spec: str) -> TokenizerInfo:
    """Load the tokenizer once on the driver to check it is fast and read its EOS id and chat template."""
    path, name = resolve_tokenizer_dir(spec)
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(path), trust_remote_code=False)
    except Exception as e:  # noqa: BLE001 - any load failure is the user's folder
        raise ForgeError(f"Mixture.tokenizer: cannot load an HF tokenizer from {path} ({type(e).__name__}: {e})") from e
    if not getattr(tok, "is_fast", False):
        raise ForgeError(f"Mixture.tokenizer: {path} has no fast (Rust) tokenizer; convert it with "
                         "AutoTokenizer.from_pretrained(...).save_pretrained(...) to get tokenizer.json")
    files = {n: (path / n).read_bytes() for n in _TOKENIZER_FILES if (path / n).is_file()}
    if "tokenizer.json" not in files:
        # A slow-only folder converted on load: keep the converted fast form so builds agree on ids.
        tmp = Path(tempfile.mkdtemp(prefix="forge-tok-"))
        try:
            tok.save_pretrained(str(tmp))
            files = {n: (tmp / n).read_bytes() for n in _TOKENIZER_FILES if (tmp / n).is_file()}
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    digest = stable_hash({n: sha256_bytes(b) for n, b in files.items()}, 64)
    return TokenizerInfo(spec=spec, name=name, hash=digest, files=files, eos_id=tok.eos_token_id,
                         vocab_size=len(tok), has_chat_template=bool(getattr(tok, "chat_template", None)))


def materialize_files(files: dict[str, bytes], digest: str) -> Path:
    """Write shipped tokenizer files to a local dir keyed by hash (once per machine), return the dir."""
    out = Path(tempfile.gettempdir()) / f"dataforge-tokenizer-{digest[:24]}"
    if (out / ".complete").is_file():
        return out
    tmp = out.parent / f".{out.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    for name, data in files.items():
        (tmp / name).write_bytes(data)
    (tmp / ".complete").write_text(digest)
    try:
        os.rename(tmp, out)
    except OSError:  # another worker won the race; its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def rust_tokenizer(files: dict[str, bytes], digest: str):
    """The `tokenizers.Tokenizer` behind the HF fast tokenizer, loaded once per Python worker."""
    key = ("rust", digest)
    if key not in _LOADED:
        # Spark already runs one task per core; Rayon threads inside each task would oversubscribe.
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        from tokenizers import Tokenizer

        _LOADED[key] = Tokenizer.from_str(files["tokenizer.json"].decode("utf-8"))
    return _LOADED[key]


def hf_tokenizer(files: dict[str, bytes], digest: str):
    """The HF fast tokenizer (for chat templates), loaded once per Python worker."""
    key = ("hf", digest)
    if key not in _LOADED:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        from transformers import AutoTokenizer

        _LOADED[key] = AutoTokenizer.from_pretrained(str(materialize_files(files, digest)), trust_remote_code=False)
    return _LOADED[key]
