"""Validated, idempotent, batch-transactional ingestion of users, products, orders, reviews and events."""

from domain.ingest.kinds import KINDS, kind_from_path
from domain.ingest.pipeline import IngestError, IngestSummary, ingest_demo, ingest_path

__all__ = ["KINDS", "IngestError", "IngestSummary", "ingest_demo", "ingest_path", "kind_from_path"]
