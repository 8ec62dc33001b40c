"""Deduplication steps: exact (normalized content hash), MinHash LSH, and semantic (embeddings)."""
