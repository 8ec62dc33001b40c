"""Curation of generated preference records for the end-to-end test: exact dedup only."""

from curation import ExactDedup, Pipeline

pipeline = Pipeline(steps=[ExactDedup()])
