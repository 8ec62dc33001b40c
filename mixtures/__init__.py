"""Versioned, content-addressed training mixtures: declared in Python, materialized with Spark.

    from mixtures import Mixture, Stage, Source, build_mixture, open_mixture
"""

from mixtures.build import BuildResult, build_mixture, build_spec, mixture_id, realized_weight_error
from mixtures.format import FORMAT_VERSION
from mixtures.loader import MixtureVersion, Piece, PieceSet, StageView, open_mixture
from mixtures.registry import entries, locate, registry_dir
from mixtures.spec import Mixture, MixtureSpecError, Source, Stage

__all__ = [
    "FORMAT_VERSION", "BuildResult", "Mixture", "MixtureSpecError", "MixtureVersion", "Piece", "PieceSet", "Source",
    "Stage", "StageView", "build_mixture", "build_spec", "entries", "locate", "mixture_id", "open_mixture",
    "realized_weight_error", "registry_dir",
]
