"""FineWeb-style curation of a web crawl, from WARC files to clean, deduplicated, PII-masked text.

WARC -> URL filter -> text extraction (trafilatura) -> language ID -> Gopher, C4 and FineWeb quality
filters -> MinHash near-duplicate removal -> email and IP masking. Every WARC record has a ledger row:
requests, images and other non-documents are dropped at `read` with their reason.

    forge curate examples/curate/fineweb.py --input curation/data/web_demo.warc.gz --out out/fineweb
    spark-submit jobs/curate.py examples/curate/fineweb.py --input s3a://bucket/crawl/ --out /shared/fineweb
"""

from pathlib import Path

from datatrove.pipeline.filters import C4QualityFilter, FineWebQualityFilter, GopherQualityFilter
from datatrove.pipeline.formatters import PIIFormatter

from curation import ExtractText, LanguageFilter, MinHashDedup, URLFilter

LISTS = Path(__file__).parent / "blocklists"  # local lists: nothing is downloaded at run time

pipeline = [
    URLFilter(domains=str(LISTS / "domains.txt"), banned_words=str(LISTS / "banned_words.txt"),
              soft_banned_words=str(LISTS / "soft_banned_words.txt")),
    ExtractText(engine="trafilatura", timeout=1.0),
    LanguageFilter(languages=["en"], threshold=0.65),
    GopherQualityFilter(),
    C4QualityFilter(),
    FineWebQualityFilter(),
    MinHashDedup(threshold=0.8, ngram=5, num_perm=128),
    PIIFormatter(remove_emails=True, remove_ips=True),
]
