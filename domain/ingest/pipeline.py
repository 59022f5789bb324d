"""Validated, idempotent, batch-transactional ingestion of one file into the store.

Per batch: read rows, validate each with the domain model, reject duplicates within the file and unknown foreign
keys, then upsert the good rows with one Core ``executemany`` inside one transaction. A crash loses at most the
batch in flight; re-running the file upserts by primary key, so the result equals an uninterrupted run.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from operator import attrgetter
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine

from domain.demo import FILE_NAMES, KIND_ORDER
from domain.ingest.kinds import COMPUTED_FIELDS, KINDS, SPECS, KindSpec, kind_from_path, prepare_order
from domain.ingest.mapping import ColumnMapping, MappingError, RecordNormaliser
from domain.ingest.readers import ByteCounter, RawRecord, ReadError, iter_records
from domain.ingest.report import IngestError, IngestSummary, Rejects, batches, reason_of
from domain.ingest.tiers import derive_missing_tiers
from domain.ingest.transactions import TRANSACTIONS, ingest_transactions
from domain.ingest.writer import KeyCache, table_is_empty, write_batch
from domain.models import Order
from domain.privacy.crypto import PiiCipher
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine

DEFAULT_BATCH_SIZE = 5_000
ALL_KINDS: tuple[str, ...] = (*KINDS, TRANSACTIONS)
PROGRESS_MIN_BYTES = 2_000_000


def ingest_path(
    settings: Settings,
    path: Path,
    kind: str | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    rejects_path: Path | None = None,
    progress: bool = True,
    engine: Engine | None = None,
    mapping: ColumnMapping | None = None,
) -> IngestSummary:
    """Ingest one CSV/JSONL/Parquet file of ``kind`` (default: from the mapping, else the file name) and return
    its summary. ``mapping`` renames columns and sets the date format; common column names need none."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"no such file: {path}")
    kind = kind or (mapping.kind if mapping else None) or kind_from_path(path)
    if kind == TRANSACTIONS:
        return ingest_transactions(
            settings, path, batch_size=batch_size, rejects_path=rejects_path, engine=engine, mapping=mapping
        )
    if kind not in SPECS:
        raise IngestError(
            f"cannot tell what {path.name} holds: pass --kind (one of {', '.join(ALL_KINDS)})"
            if kind is None
            else f"unknown kind {kind!r}: use one of {', '.join(ALL_KINDS)}"
        )
    spec = SPECS[kind]
    normalise = normaliser_for(kind, spec, mapping)
    engine = engine or get_engine(settings)
    cipher = PiiCipher.from_settings(settings) if kind == "users" else None
    rejects_path = rejects_path or settings.data_dir / "rejects" / f"{path.name}.rejects.jsonl"
    rejects_path.unlink(missing_ok=True)  # a re-run rewrites it from scratch
    summary = IngestSummary(path=path, kind=kind, rejects_path=rejects_path)
    started = time.perf_counter()
    # Rows already stored before this run can only be known by asking the store; if the table starts empty,
    # every accepted row is new (duplicates inside the file are rejected), which saves a query per batch.
    check_existing = not table_is_empty(engine, spec.table)
    seen: dict[int, int] = {}
    fk_cache = KeyCache()
    counter = ByteCounter()
    total_bytes = path.stat().st_size
    with ExitStack() as stack:
        rejects = Rejects(rejects_path, kind, stack)
        bar = (
            _progress_bar(stack, path, total_bytes)
            if progress and total_bytes >= PROGRESS_MIN_BYTES
            else None
        )
        try:
            for batch in batches(iter_records(path, counter), batch_size):
                summary.read += len(batch)
                valid = _validate(batch, spec, seen, rejects, normalise)
                valid = _check_foreign_keys(engine, spec, valid, fk_cache, rejects)
                if valid:
                    result = write_batch(engine, spec, valid, cipher, check_existing=check_existing)
                    summary.stored += result.inserted
                    summary.updated += result.updated
                    summary.lines_stored += result.nested_lines
                    for record, reason in result.failed:
                        rejects.add(record, reason)
                rejects.flush()
                if bar is not None:
                    bar(counter.bytes)
        except ReadError as exc:
            raise IngestError(str(exc)) from exc
    if kind == "products":
        summary.tiers_derived = derive_missing_tiers(engine)
    summary.ignored_columns = sorted(normalise.ignored)
    summary.rejected = rejects.count
    summary.seconds = time.perf_counter() - started
    return summary


def normaliser_for(kind: str, spec: KindSpec, mapping: ColumnMapping | None) -> RecordNormaliser:
    try:
        return RecordNormaliser(
            kind,
            set(spec.model.model_fields),
            mapping,
            silent=frozenset(COMPUTED_FIELDS.get(kind, ())),
        )
    except MappingError as exc:
        raise IngestError(str(exc)) from exc


def _validate(
    batch: list[RawRecord],
    spec: KindSpec,
    seen: dict[int, int],
    rejects: Rejects,
    normalise: RecordNormaliser,
) -> list[tuple[RawRecord, BaseModel]]:
    valid: list[tuple[RawRecord, BaseModel]] = []
    is_orders = spec.name == "orders"
    validate = spec.model.model_validate
    key_of = attrgetter(*spec.key)  # a value for one-column keys, a tuple for composite ones
    for record in batch:
        data = record.data
        if data is None:
            rejects.add(record, record.error or "unreadable row")
            continue
        prepared = normalise(data)
        try:
            model = validate(prepare_order(prepared) if is_orders else prepared)
        except ValidationError as exc:
            retry = normalise.second_chance(data, prepared)
            if retry is None:
                rejects.add(record, reason_of(exc))
                continue
            try:
                model = validate(prepare_order(retry) if is_orders else retry)
            except ValidationError as again:
                rejects.add(record, reason_of(again))
                continue
        if is_orders and (problem := _nested_lines_problem(model)):  # type: ignore[arg-type]
            rejects.add(record, problem)
            continue
        key = key_of(model)
        # Keyed by the key's 64-bit hash, not the key: half the memory on 10M-row files; a false "duplicate"
        # needs a 64-bit collision (odds ~1e-6 at 10M rows).
        digest = hash(key)
        first = seen.get(digest)
        if first is not None:
            rejects.add(record, f"duplicate id {key!r}: already at line {first} of this file")
            continue
        seen[digest] = record.line_no
        valid.append((record, model))
    return valid


def _nested_lines_problem(order: Order) -> str | None:
    numbers = [line.line_no for line in order.lines]
    if len(set(numbers)) != len(numbers):
        return f"order {order.order_id!r} repeats a line_no among its lines"
    wrong = [line.order_id for line in order.lines if line.order_id != order.order_id]
    if wrong:
        return f"order {order.order_id!r} carries a line of another order ({wrong[0]!r})"
    return None


def _check_foreign_keys(
    engine: Engine,
    spec: KindSpec,
    valid: list[tuple[RawRecord, BaseModel]],
    cache: KeyCache,
    rejects: Rejects,
) -> list[tuple[RawRecord, BaseModel]]:
    references: list[tuple[str, Any, Any]] = []  # (fk field, table, column) for models and nested lines
    references.extend((fk.field, fk.table, fk.column) for fk in spec.foreign_keys)
    nested_products = spec.name == "orders"
    for field, table, column in references:
        wanted = {getattr(m, field) for _, m in valid if getattr(m, field) is not None}
        cache.ensure(engine, table, column, wanted)
    if nested_products:
        wanted = {line.product_id for _, m in valid for line in m.lines}  # type: ignore[attr-defined]
        cache.ensure(engine, schema.products, "product_id", wanted)
    kept: list[tuple[RawRecord, BaseModel]] = []
    known = [(fk, cache.known(fk.table)) for fk in spec.foreign_keys]
    for record, model in valid:
        problem = None
        for fk, existing in known:
            value = getattr(model, fk.field)
            if value is not None and value not in existing:
                problem = f"unknown {fk.field} {value!r}: no such {fk.label} in the store"
                break
        if problem is None and nested_products:
            for line in model.lines:  # type: ignore[attr-defined]
                if not cache.has(schema.products, line.product_id):
                    problem = f"line {line.line_no}: unknown product_id {line.product_id!r}: no such product in the store"
                    break
        if problem:
            rejects.add(record, problem)
        else:
            kept.append((record, model))
    return kept


def _progress_bar(stack: ExitStack, path: Path, total: int):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    bar = stack.enter_context(
        Progress(
            TextColumn(f"ingest {path.name}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            transient=True,
        )
    )
    task = bar.add_task("ingest", total=total)
    return lambda done: bar.update(task, completed=done)


def ingest_demo(
    settings: Settings, demo_dir: Path, *, progress: bool = True, batch_size: int = DEFAULT_BATCH_SIZE
) -> list[IngestSummary]:
    """Ingest a demo shop directory (as written by ``generate_demo_shop``) in foreign-key order."""

    demo_dir = Path(demo_dir)
    summaries = []
    for kind in KIND_ORDER:
        path = demo_dir / FILE_NAMES[kind]
        if path.exists():
            summaries.append(ingest_path(settings, path, kind, progress=progress, batch_size=batch_size))
    return summaries
