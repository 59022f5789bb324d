"""Validated, idempotent, batch-transactional ingestion of users, products, orders, reviews, events and
line-item transactions, from the demo's files or a shop's own exports (column mapping, value parsing)."""

from domain.ingest.folder import ingest_folder, plan_folder
from domain.ingest.kinds import KINDS, kind_from_path
from domain.ingest.mapping import ColumnMapping, MappingError
from domain.ingest.pipeline import ALL_KINDS, ingest_demo, ingest_path
from domain.ingest.report import IngestError, IngestSummary

__all__ = [
    "ALL_KINDS",
    "KINDS",
    "ColumnMapping",
    "IngestError",
    "IngestSummary",
    "MappingError",
    "ingest_demo",
    "ingest_folder",
    "ingest_path",
    "kind_from_path",
    "plan_folder",
]
