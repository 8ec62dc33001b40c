"""Versioned, content-addressed training mixtures: declared in Python, materialized with Spark.

    from mixtures import Mixture, Stage, Source, build_mixture, open_mixture
"""

from dataforge.core.lazy import lazy_exports

# Spark executors import `mixtures.tokenize`; the build, registry and loader modules (and the
# generator they pull in) load only when a name from them is used.
_EXPORTS = {
    "mixtures.build": ["BuildResult", "build_mixture", "build_spec", "realized_weight_error"],
    "mixtures.format": ["FORMAT_VERSION"],
    "mixtures.identity": ["content_root", "mixture_id"],
    "mixtures.loader": ["MixtureVersion", "Piece", "PieceSet", "StageView", "open_mixture"],
    "mixtures.registry": ["entries", "locate", "registry_dir"],
    "mixtures.spec": ["Mixture", "MixtureSpecError", "Source", "Stage"],
}
__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "FORMAT_VERSION", "BuildResult", "Mixture", "MixtureSpecError", "MixtureVersion", "Piece", "PieceSet", "Source",
    "Stage", "StageView", "build_mixture", "build_spec", "content_root", "entries", "locate", "mixture_id",
    "open_mixture",
    "realized_weight_error", "registry_dir",
]
