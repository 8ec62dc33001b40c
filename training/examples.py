"""The shipped example run specs (`examples/train/*.py`), and rendering one for a given mixture."""

from __future__ import annotations

import re
from pathlib import Path

from dataforge.core.errors import ForgeError

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples" / "train"


def example_paths() -> list[Path]:
    return sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))


def render_example(name: str, mixture: str, registry: str | Path | None = None) -> str:
    """The example's source with its MIXTURE and REGISTRY lines set, ready to write as a spec file.

    Example:
        Path("specs/train.py").write_text(render_example("tiny_llama", mixture_id, "registry"))
    """
    path = EXAMPLES_DIR / f"{name}.py"
    if not path.is_file():
        names = ", ".join(p.stem for p in example_paths())
        raise ForgeError(f"no example run spec {name!r}; the examples are: {names}")
    text = path.read_text()
    text, n1 = re.subn(r"^MIXTURE = .*$", f"MIXTURE = {mixture!r}", text, count=1, flags=re.M)
    reg = repr(str(registry)) if registry is not None else "None"
    text, n2 = re.subn(r"^REGISTRY = .*$", f"REGISTRY = {reg}", text, count=1, flags=re.M)
    if not (n1 and n2):
        raise ForgeError(f"{path}: has no top-level MIXTURE / REGISTRY lines to set")
    return text
