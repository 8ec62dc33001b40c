"""Curate the demo's generated chat records together with a small web crawl.

    forge curate specs/pipeline.py --input raw/web.jsonl --input generated --out curated

Dedup sees every record; datatrove's quality rules are tuned for web pages (Gopher drops documents
under 50 words), so they apply to text records only and a one-line question with its answer passes.
"""

from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

from curation import ExactDedup, MinHashDedup, Where

pipeline = [
    ExactDedup(),
    MinHashDedup(threshold=0.8, ngram=5, num_perm=128),
    Where(GopherRepetitionFilter(), kind="text"),
    Where(GopherQualityFilter(), kind="text"),
    Where(C4QualityFilter(), kind="text"),
]
