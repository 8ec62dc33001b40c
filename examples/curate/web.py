"""Curate a web crawl: exact and near-duplicate removal, then datatrove's quality rules.

    forge curate examples/curate/web.py --input curation/data/web_demo.jsonl --out out/web
"""

from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter

from curation import ExactDedup, MinHashDedup, RepetitionFilter

pipeline = [
    ExactDedup(),
    MinHashDedup(threshold=0.8, ngram=5, num_perm=128),
    RepetitionFilter(max_repeats=32),
    GopherQualityFilter(),
    C4QualityFilter(),
    FineWebQualityFilter(),
]
