"""Spark curation: datatrove filters at cluster scale, dedup, classifiers, decontamination, and a
ledger that accounts for every input record.

    from curation import ExactDedup, MinHashDedup, run_pipeline
    from datatrove.pipeline.filters import GopherQualityFilter
    pipeline = [ExactDedup(), MinHashDedup(threshold=0.8), GopherQualityFilter()]
"""

from curation.pipeline import Pipeline, as_pipeline
from curation.runner import CurateResult, run_pipeline
from curation.steps.base import DatasetStep, Doc, RecordStep, Step

__all__ = ["CurateResult", "DatasetStep", "Doc", "Pipeline", "RecordStep", "Step", "as_pipeline", "run_pipeline"]
