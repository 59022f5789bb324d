"""Bulk writes: dialect-specific upserts (``ON CONFLICT DO UPDATE``) with one executemany per batch and table."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Float, Integer, String, Table, delete, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.ingest.kinds import KindSpec, line_row
from domain.ingest.readers import RawRecord
from domain.privacy.crypto import PiiCipher
from domain.store import schema

CHUNK = 900  # bound parameters per IN (...) query: safe for every SQLite build and PostgreSQL
MAX_CACHED_KEYS = 2_000_000


class KeyCache:
    """Primary keys known to exist in referenced tables, so FK checks query each key at most once."""

    def __init__(self) -> None:
        self._known: dict[str, set[Any]] = {}

    def ensure(self, engine: Engine, table: Table, column: str, wanted: Iterable[Any]) -> None:
        known = self._known.setdefault(table.name, set())
        wanted = list(wanted)
        missing = [v for v in wanted if v not in known]
        if not missing:
            return
        if len(known) + len(missing) > MAX_CACHED_KEYS:  # bounded memory on huge reference tables
            # Start again from this batch's keys: every wanted key must be known afterwards, including the ones
            # that were cached (dropping them with the rest rejected valid rows past 2M users).
            known.clear()
            missing = wanted
        col = table.c[column]
        with engine.connect() as conn:
            for start in range(0, len(missing), CHUNK):
                chunk = missing[start : start + CHUNK]
                known.update(conn.execute(select(col).where(col.in_(chunk))).scalars())

    def has(self, table: Table, value: Any) -> bool:
        return value in self._known.get(table.name, ())

    def known(self, table: Table) -> set[Any]:
        """The live set for ``table`` (for tight membership loops)."""
        return self._known.setdefault(table.name, set())


def table_is_empty(engine: Engine, table: Table) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(1).select_from(table).limit(1)).first() is None


def existing_keys(
    conn: Connection, table: Table, key: tuple[str, ...], keys: list[tuple[Any, ...]]
) -> set[tuple[Any, ...]]:
    found: set[tuple[Any, ...]] = set()
    if len(key) == 1:
        col = table.c[key[0]]
        values = [k[0] for k in keys]
        for start in range(0, len(values), CHUNK):
            found.update(
                (v,)
                for v in conn.execute(select(col).where(col.in_(values[start : start + CHUNK]))).scalars()
            )
        return found
    # Composite keys (order lines): select by the first column, then match whole keys in Python.
    first = table.c[key[0]]
    cols = [table.c[k] for k in key]
    firsts = sorted({k[0] for k in keys})
    for start in range(0, len(firsts), CHUNK):
        rows = conn.execute(select(*cols).where(first.in_(firsts[start : start + CHUNK])))
        found.update(tuple(r) for r in rows)
    wanted = set(keys)
    return found & wanted


def upsert_statement(engine: Engine, table: Table, key: tuple[str, ...]):  # type: ignore[no-untyped-def]
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - other dialects are not supported
        raise NotImplementedError(
            f"upsert is implemented for SQLite and PostgreSQL, not {engine.dialect.name}"
        )
    stmt = insert(table)
    updates = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in key}
    return stmt.on_conflict_do_update(index_elements=list(key), set_=updates)


class _FastSqliteUpsert:
    """The upsert compiled once to SQL text, fed plain tuples through the driver's executemany.

    SQLAlchemy's per-row parameter processing cost more than SQLite's own work; the columns' bind processors
    are still applied, so stored values are byte-identical to what the Core statement writes.
    """

    def __init__(self, engine: Engine, table: Table, key: tuple[str, ...]) -> None:
        compiled = upsert_statement(engine, table, key).compile(
            dialect=engine.dialect, column_keys=[c.name for c in table.columns]
        )
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        # Numeric and string processors only coerce Decimals and the like, which our rows never hold: skip them.
        plain = (Integer, Float, String)
        self.processors = [
            (i, proc)
            for i, n in enumerate(self.names)
            if not isinstance(table.c[n].type, plain)
            and (proc := table.c[n].type.bind_processor(engine.dialect))
        ]
        self._get = itemgetter(*self.names)

    def params(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        get = self._get
        if not self.processors:
            return [get(row) for row in rows]
        out = []
        for row in rows:
            values = list(get(row))
            for i, proc in self.processors:
                if values[i] is not None:
                    values[i] = proc(values[i])
            out.append(tuple(values))
        return out


_FAST: dict[tuple[int, str], _FastSqliteUpsert] = {}


def execute_upsert(
    conn: Connection, engine: Engine, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]]
) -> None:
    if engine.dialect.name == "sqlite":
        fast = _FAST.get((id(engine), table.name))
        if fast is None:
            fast = _FAST[(id(engine), table.name)] = _FastSqliteUpsert(engine, table, key)
        conn.exec_driver_sql(fast.sql, fast.params(rows))
    else:
        conn.execute(upsert_statement(engine, table, key), rows)


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    nested_lines: int = 0
    failed: list[tuple[RawRecord, str]] = field(default_factory=list)


def write_batch(
    engine: Engine,
    spec: KindSpec,
    valid: list[tuple[RawRecord, BaseModel]],
    cipher: PiiCipher | None,
    *,
    check_existing: bool,
) -> WriteResult:
    """Upsert one batch in one transaction; if the store refuses it, retry row by row to isolate the bad rows."""
    rows = [spec.to_row(model, cipher) for _, model in valid]
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                # A 64 MB page cache (default 2 MB) keeps secondary-index inserts off the OS once tables grow.
                conn.exec_driver_sql("PRAGMA cache_size=-65536")
            return _write(conn, engine, spec, valid, rows, check_existing)
    except (IntegrityError, DBAPIError):
        pass
    result = WriteResult()
    for item, row in zip(valid, rows, strict=True):
        try:
            with engine.begin() as conn:
                one = _write(conn, engine, spec, [item], [row], check_existing)
        except (IntegrityError, DBAPIError) as exc:
            result.failed.append((item[0], f"the store refused the row: {str(exc.orig).splitlines()[0]}"))
            continue
        result.inserted += one.inserted
        result.updated += one.updated
        result.nested_lines += one.nested_lines
    return result


def _write(
    conn: Connection,
    engine: Engine,
    spec: KindSpec,
    valid: list[tuple[RawRecord, BaseModel]],
    rows: list[dict[str, Any]],
    check_existing: bool,
) -> WriteResult:
    result = WriteResult()
    keys = [tuple(row[k] for k in spec.key) for row in rows]
    present = existing_keys(conn, spec.table, spec.key, keys) if check_existing else set()
    execute_upsert(conn, engine, spec.table, spec.key, rows)
    result.updated = len(present)
    result.inserted = len(rows) - len(present)
    if spec.name == "orders":
        # Orders that carry their lines replace their stored lines (a shorter order must not keep stale lines).
        with_lines = [m for record, m in valid if record.data is not None and "lines" in record.data]
        if with_lines:
            ids = [m.order_id for m in with_lines]  # type: ignore[attr-defined]
            lines_table = schema.order_lines
            for start in range(0, len(ids), 900):
                conn.execute(delete(lines_table).where(lines_table.c.order_id.in_(ids[start : start + 900])))
            line_rows = [line_row(line) for m in with_lines for line in m.lines]  # type: ignore[attr-defined]
            if line_rows:
                conn.execute(lines_table.insert(), line_rows)
            result.nested_lines = len(line_rows)
    return result
