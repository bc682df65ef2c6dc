"""ingest: a scheduled feed ingestion service."""

__version__ = "0.1.0"
