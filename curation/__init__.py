"""Spark curation: datatrove filters at cluster scale, dedup, classifiers, decontamination, and a
ledger that accounts for every input record.

    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter
    from curation import ExactDedup, MinHashDedup
    pipeline = [ExactDedup(), MinHashDedup(threshold=0.8), GopherQualityFilter(), C4QualityFilter()]

Run it with `forge curate pipeline.py --input PATH --out DIR` (or `spark-submit jobs/curate.py ...`).
"""

from curation.classifiers.quality import QualityClassifier
from curation.classifiers.train import train_classifier
from curation.corpus import make_web_corpus, web_demo_path
from curation.decontaminate import Decontaminate
from curation.dedup.exact import ExactDedup
from curation.dedup.minhash import MinHashDedup
from curation.dedup.semantic import SemanticDedup
from curation.extract import ExtractText
from curation.filters.language import LanguageFilter
from curation.filters.repetition import RepetitionFilter
from curation.filters.url import URLFilter
from curation.judge import LLMJudgeFilter
from curation.pipeline import Pipeline, as_pipeline
from curation.report import print_funnel, save_funnel_png
from curation.runner import CurateResult, run_pipeline
from curation.steps.base import DatasetStep, Doc, Quarantine, RecordStep, Step
from curation.steps.where import Where
from curation.warc_corpus import web_demo_warc_path, web_pages, write_warc

__all__ = [
    "CurateResult", "DatasetStep", "Decontaminate", "Doc", "ExactDedup", "ExtractText", "LLMJudgeFilter", "LanguageFilter",
    "MinHashDedup", "Pipeline", "QualityClassifier", "Quarantine", "RecordStep", "RepetitionFilter", "SemanticDedup",
    "Step", "URLFilter", "Where", "as_pipeline",
    "make_web_corpus", "print_funnel", "run_pipeline", "save_funnel_png", "train_classifier", "web_demo_path",
    "web_demo_warc_path", "web_pages", "write_warc",
]
