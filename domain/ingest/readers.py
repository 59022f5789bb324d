"""Streaming readers for CSV, JSONL and Parquet that never fail a whole file for one bad line.

Each reader yields ``RawRecord``s: the row as a dict (or an error saying why it could not be read), its line number
in the file (Parquet: its row number, 1-based) and the original text for the rejects file.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


class ReadError(ValueError):
    """The file as a whole cannot be read (unknown format, missing header, not a Parquet file)."""


@dataclass(slots=True)
class RawRecord:
    line_no: int
    data: dict[str, Any] | None
    original: Any  # dict for parsed rows, text otherwise: what goes into the rejects file
    error: str | None = None


class ByteCounter:
    """How many bytes of the file the reader has consumed (drives the progress bar); asked once per batch."""

    def __init__(self) -> None:
        self.handle: Any = None  # the open binary file: its position is the count (no per-line bookkeeping)
        self.fixed = 0

    @property
    def bytes(self) -> int:
        if self.handle is not None and not self.handle.closed:
            return int(self.handle.tell())
        return self.fixed


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ReadError(f"cannot tell the format of {path.name}: use .csv, .jsonl or .parquet")
    return fmt


def iter_records(path: Path, counter: ByteCounter | None = None) -> Iterator[RawRecord]:
    counter = counter or ByteCounter()
    fmt = detect_format(path)
    if fmt == "csv":
        return _iter_csv(path, counter)
    if fmt == "jsonl":
        return _iter_jsonl(path, counter)
    return _iter_parquet(path, counter)


def _iter_jsonl(path: Path, counter: ByteCounter) -> Iterator[RawRecord]:
    with path.open("rb") as handle:
        counter.handle = handle
        for line_no, raw in enumerate(handle, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawRecord(
                    line_no,
                    None,
                    raw.decode("utf-8", "backslashreplace").rstrip("\n"),
                    f"bad encoding: not UTF-8 at byte {exc.start}",
                )
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RawRecord(
                    line_no, None, text.rstrip("\n"), f"malformed JSON: {exc.msg} at column {exc.colno}"
                )
                continue
            if not isinstance(data, dict):
                yield RawRecord(
                    line_no, None, text.rstrip("\n"), f"expected a JSON object, got {type(data).__name__}"
                )
                continue
            yield RawRecord(line_no, {k: v for k, v in data.items() if v is not None}, data)


def _iter_csv(path: Path, counter: ByteCounter) -> Iterator[RawRecord]:
    bad_lines: dict[int, str] = {}  # physical line -> decode error, filled by the line source as it reads
    physical = 0

    def decoded_lines(handle: Any) -> Iterator[str]:
        nonlocal physical
        for raw in handle:
            physical += 1
            if physical == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad_lines[physical] = f"bad encoding: not UTF-8 at byte {exc.start} of line {physical}"
                yield raw.decode("utf-8", "backslashreplace")

    with path.open("rb") as handle:
        counter.handle = handle
        reader = csv.reader(decoded_lines(handle))
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            return
        except csv.Error as exc:
            raise ReadError(f"{path.name}: unreadable CSV header: {exc}") from exc
        if bad_lines:
            raise ReadError(f"{path.name}: the header line is not UTF-8")
        if len(set(header)) != len(header) or not all(header):
            raise ReadError(f"{path.name}: the header has empty or repeated column names: {header}")
        last_line = 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRecord(physical, None, "", f"malformed CSV: {exc}")
                last_line = physical
                continue
            first_line, last_line = last_line + 1, reader.line_num
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            if bad_lines:  # rare: only then look for an undecodable physical line inside this record
                errors = [bad_lines.pop(n) for n in range(first_line, last_line + 1) if n in bad_lines]
                if errors:
                    yield RawRecord(first_line, None, ",".join(fields), errors[0])
                    continue
            original = dict(zip(header, fields, strict=False))
            if len(fields) != len(header):
                yield RawRecord(
                    first_line,
                    None,
                    original,
                    f"row has {len(fields)} fields but the header has {len(header)}",
                )
                continue
            # An empty CSV cell means "no value": drop it so the model's default (or "field required") applies.
            yield RawRecord(first_line, {k: v for k, v in original.items() if v != ""}, original)


def _iter_parquet(path: Path, counter: ByteCounter) -> Iterator[RawRecord]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise ReadError(f"{path.name}: not a readable Parquet file: {exc}") from exc
    total_rows = max(parquet.metadata.num_rows, 1)
    size = path.stat().st_size
    row_no = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            row_no += 1
            data = {
                k: v for k, v in row.items() if v is not None and not (isinstance(v, float) and math.isnan(v))
            }
            yield RawRecord(row_no, data, {k: _jsonable(v) for k, v in row.items()})
        counter.fixed = int(size * row_no / total_rows)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
