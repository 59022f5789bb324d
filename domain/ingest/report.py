"""What an ingestion run reports: its summary, its rejects file, and the pieces every kind of file shares."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field, ValidationError

from domain.ingest.readers import RawRecord


class IngestError(RuntimeError):
    """A fatal problem with the file as a whole (not a bad row): the message is meant for the user."""


class IngestSummary(BaseModel):
    path: Path
    kind: str
    read: int = 0
    stored: int = 0  # new rows
    updated: int = 0  # rows whose primary key already existed (overwritten with the file's values)
    rejected: int = 0
    lines_stored: int = 0  # order lines carried nested inside orders (transactions: every line written)
    ignored_columns: list[str] = Field(default_factory=list)  # the file's columns that map to no field
    tiers_derived: int = 0  # products stored without a price tier, given one from their category's prices
    created: dict[str, int] = Field(default_factory=dict)  # transactions: new rows per table
    rejects_path: Path | None = None
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        nested = f" (+{self.lines_stored} order lines)" if self.lines_stored else ""
        rejects = f" -> rejects in {self.rejects_path}" if self.rejected and self.rejects_path else ""
        created = ", ".join(f"{n} {table}" for table, n in self.created.items())
        extras = [
            f"created {created}" if created else "",
            f"price tier derived for {self.tiers_derived}" if self.tiers_derived else "",
            f"ignored columns: {', '.join(self.ignored_columns)}" if self.ignored_columns else "",
        ]
        notes = "".join(f"; {e}" for e in extras if e)
        return (
            f"{self.path.name} [{self.kind}]: read {self.read}, stored {self.stored}, updated {self.updated}, "
            f"rejected {self.rejected}{nested} in {self.seconds:.1f}s ({self.rows_per_s:,.0f} rows/s)"
            f"{notes}{rejects}"
        )


def reason_of(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        got = err.get("input")
        shown = "" if err["type"] == "missing" or isinstance(got, dict) else f" (got {got!r:.60})"
        parts.append(f"{loc}: {err['msg']}{shown}")
    return "; ".join(parts)


class Rejects:
    """Opens the rejects file on the first reject, so clean files leave none behind."""

    def __init__(self, path: Path, kind: str, stack: ExitStack) -> None:
        self.path, self.kind, self._stack = path, kind, stack
        self._handle: IO[str] | None = None
        self.count = 0

    def add(self, record: RawRecord, reason: str) -> None:
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self._stack.enter_context(self.path.open("w", encoding="utf-8"))
        entry = {"line": record.line_no, "kind": self.kind, "reason": reason, "row": record.original}
        self._handle.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        self.count += 1

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()


def batches(records: Iterator[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    batch: list[RawRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
