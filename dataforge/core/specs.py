"""Specs are Python modules that build spec objects; the CLI loads the module and takes one name."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from dataforge.core.errors import SpecError, one_line
from dataforge.core.hashing import stable_hash


def load_module(path: str | Path) -> ModuleType:
    """Import a spec file under a name derived from its path; one-line SpecError on any failure."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such spec file; check the path")
    if path.suffix != ".py":
        raise SpecError(f"{path}: a spec is a Python module (.py)")
    name = f"forge_spec_{path.stem}_{stable_hash(str(path.resolve()), 8)}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    # No __pycache__ beside the spec: a verb writes only into the outputs it creates.
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        module_spec.loader.exec_module(module)
    except KeyboardInterrupt:
        sys.modules.pop(name, None)
        raise
    except BaseException as e:  # noqa: BLE001 - `sys.exit()`/`exit()` in a spec is a spec error too
        sys.modules.pop(name, None)
        frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == str(path)]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise SpecError(f"{where}: spec failed to import: {one_line(e)}; fix the spec and rerun") from e
    finally:
        sys.dont_write_bytecode = bytecode
    from dataforge.core.spark import ship_by_value

    ship_by_value(module)
    return module


def load_spec(path: str | Path, name: str, expected: type | tuple[type, ...] | None = None) -> Any:
    """Load `path` and return its top-level `name` (e.g. `graph`, `pipeline`, `mixture`, `run`)."""
    module = load_module(path)
    if not hasattr(module, name):
        raise SpecError(f"{path}: defines no `{name}`; the spec must assign `{name} = ...` at top level")
    obj = getattr(module, name)
    if expected is not None and not isinstance(obj, expected):
        want = expected.__name__ if isinstance(expected, type) else " or ".join(t.__name__ for t in expected)
        raise SpecError(f"{path}: `{name}` is a {type(obj).__name__}, expected a {want}")
    return obj
