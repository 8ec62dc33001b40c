"""The `forge` CLI and the spark-submit entry points (`jobs/generate.py`, `jobs/curate.py`, ...)."""
