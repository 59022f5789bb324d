"""`shopguide export store --parquet DIR`: the store's tables as Parquet, the input of the Spark batch.

One file per table (``DIR/<table>.parquet``), written in row groups of one user-id range at a time, so memory holds
one range whatever the size of the store. No encrypted PII leaves the store: users carry only the masked contact
forms the campaign lists show. Timestamps are naive (UTC wall time, as stored).

``PARQUET_TABLES`` documents the columns a reader needs: any tables with these columns (e.g. a data lake's export)
work as the Spark batch's input, whoever wrote them.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Select, select
from sqlalchemy.engine import Engine

from domain.store.repository import iter_user_id_chunks, read_frame
from domain.store.schema import events, order_lines, orders, products, reviews, users


@dataclass(frozen=True)
class ParquetTable:
    """A table of the Parquet input: the columns a reader requires, and whether the table may be absent."""

    name: str
    columns: tuple[str, ...]
    optional_columns: tuple[str, ...] = ()
    required: bool = True


PARQUET_TABLES: dict[str, ParquetTable] = {
    t.name: t
    for t in (
        ParquetTable("users", ("user_id", "signup_at", "language"), ("phone_masked", "email_masked")),
        ParquetTable("products", ("product_id", "category", "brand", "price_tier"), ("title_en", "title_zh")),
        ParquetTable("orders", ("order_id", "user_id", "created_at", "status")),
        ParquetTable(
            "order_lines",
            ("order_id", "line_no", "product_id", "quantity", "unit_price", "discount", "amount"),
        ),
        ParquetTable(
            "events", ("user_id", "kind", "ts", "session_id", "product_id", "query"), required=False
        ),
        ParquetTable(
            "reviews", ("user_id", "product_id", "rating", "text", "language", "created_at"), required=False
        ),
    )
}
_DATETIME_COLUMNS = ("signup_at", "created_at", "ts")
EXPORT_CHUNK_USERS = 200_000


@dataclass
class ExportSummary:
    out: Path
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def _statements(low: str, high: str) -> dict[str, Select[Any]]:
    """Per table, the rows of the users in [low, high]."""
    spec = {name: t.columns + t.optional_columns for name, t in PARQUET_TABLES.items()}
    user_orders = select(orders.c.order_id).where(orders.c.user_id.between(low, high))
    return {
        "users": select(*(users.c[c] for c in spec["users"])).where(users.c.user_id.between(low, high)),
        "orders": select(*(orders.c[c] for c in spec["orders"])).where(orders.c.user_id.between(low, high)),
        "order_lines": select(*(order_lines.c[c] for c in spec["order_lines"])).where(
            order_lines.c.order_id.in_(user_orders)
        ),
        "events": select(*(events.c[c] for c in spec["events"])).where(events.c.user_id.between(low, high)),
        "reviews": select(*(reviews.c[c] for c in spec["reviews"])).where(
            reviews.c.user_id.between(low, high)
        ),
    }


def _table(frame: Any) -> pa.Table:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    # Null-only columns of one chunk would be typed `null`; every chunk must share one schema. Timestamps in
    # microseconds: Spark cannot read Parquet's nanosecond timestamps.
    fields = [
        pa.field(f.name, pa.string())
        if pa.types.is_null(f.type)
        else pa.field(f.name, pa.timestamp("us"))
        if pa.types.is_timestamp(f.type)
        else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def export_store_parquet(
    engine: Engine, out_dir: Path | str, *, chunk_users: int = EXPORT_CHUNK_USERS
) -> ExportSummary:
    """Write every table of ``PARQUET_TABLES`` under ``out_dir`` (replaced when it exists, only once complete)."""

    started = time.perf_counter()
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    summary = ExportSummary(out_dir)
    writers: dict[str, pq.ParquetWriter] = {}
    schemas: dict[str, pa.Schema] = {}
    try:
        product_cols = PARQUET_TABLES["products"].columns + PARQUET_TABLES["products"].optional_columns
        product_frame = read_frame(engine, select(*(products.c[c] for c in product_cols)), [])
        pq.write_table(_table(product_frame), staging / "products.parquet")
        summary.rows["products"] = len(product_frame)
        for ids in iter_user_id_chunks(engine, chunk_users):
            for name, stmt in _statements(ids[0], ids[-1]).items():
                stamps = [c for c in _DATETIME_COLUMNS if c in PARQUET_TABLES[name].columns]
                table = _table(read_frame(engine, stmt, stamps))
                if name not in writers:
                    schemas[name] = table.schema
                    writers[name] = pq.ParquetWriter(staging / f"{name}.parquet", table.schema)
                writers[name].write_table(table.cast(schemas[name]))
                summary.rows[name] = summary.rows.get(name, 0) + table.num_rows
    finally:
        for writer in writers.values():
            writer.close()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.replace(out_dir)
    summary.seconds = time.perf_counter() - started
    return summary
