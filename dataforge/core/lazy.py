"""Package exports imported on first use.

Spark executors import small leaf modules (`dataforge.core.hashing`, `mixtures.tokenize`); if a
package's `__init__` imported everything it exports, every Python worker would also load the
generator's engine, graph and backends, a third of a second each time a worker starts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: dict[str, list[str]]) -> Callable[[str], Any]:
    """A module-level `__getattr__` for `package`: each exported name imports its module once.

    Example (in a package's __init__.py):
        __getattr__ = lazy_exports(__name__, {"mixtures.spec": ["Mixture", "Stage"]})
    """
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(where[name]), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    return __getattr__
