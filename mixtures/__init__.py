"""Versioned, content-addressed training mixtures: declared in Python, materialized with Spark.

    from mixtures import Mixture, Stage, Source, build_mixture, open_mixture
"""

from importlib import import_module

# Spark executors import `mixtures.tokenize`; the build, registry and loader modules (and the
# generator they pull in) load only when a name from them is used.
_EXPORTS = {
    "mixtures.build": ["BuildResult", "build_mixture", "build_spec", "mixture_id", "realized_weight_error"],
    "mixtures.format": ["FORMAT_VERSION"],
    "mixtures.loader": ["MixtureVersion", "Piece", "PieceSet", "StageView", "open_mixture"],
    "mixtures.registry": ["entries", "locate", "registry_dir"],
    "mixtures.spec": ["Mixture", "MixtureSpecError", "Source", "Stage"],
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "FORMAT_VERSION", "BuildResult", "Mixture", "MixtureSpecError", "MixtureVersion", "Piece", "PieceSet", "Source",
    "Stage", "StageView", "build_mixture", "build_spec", "entries", "locate", "mixture_id", "open_mixture",
    "realized_weight_error", "registry_dir",
]
