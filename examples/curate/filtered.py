"""English-only, decontaminated, PII-scrubbed web text.

    forge curate examples/curate/filtered.py --input curation/data/web_demo.jsonl --out out/filtered

Decontaminate drops every page sharing a 13-word sequence with an item of the evaluation set next
to this file; PIIFormatter (datatrove) replaces email and IP addresses in what is kept.
"""

from pathlib import Path

from datatrove.pipeline.filters import GopherQualityFilter
from datatrove.pipeline.formatters import PIIFormatter

from curation import Decontaminate, ExactDedup, LanguageFilter, Pipeline

pipeline = Pipeline(
    steps=[
        LanguageFilter(languages=["en"], threshold=0.65),
        ExactDedup(),
        Decontaminate(benchmarks=[str(Path(__file__).parent / "benchmark.jsonl")], n=13),
        GopherQualityFilter(),
        PIIFormatter(),
    ],
    keep_dropped=True,
)
