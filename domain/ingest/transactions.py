"""The ``transactions`` kind: one row per line item (the layout of order exports and of the public "Online Retail"
invoices: InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID).

One pass over the file creates users, orders, order lines and, where a product is not in the store, a minimal
product row (its name, the median price paid, category ``other``). Rules:

- a row without a customer id is rejected with that reason (nobody to attribute it to);
- a negative quantity is a return: it is stored as a line of a ``returned`` order (the order's own id when all of
  its rows are returns, as with Online Retail's "C" invoices, else ``<order id>-R``), with a positive quantity;
- a product named but without an id is matched by title to the catalog, else gets an id derived from its name;
- users and products already in the store are never overwritten (their PII and catalog data stay as they are);
  orders in the file replace their stored lines, so re-running the file gives the same store.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.ingest.kinds import SPECS
from domain.ingest.mapping import ASSUMED_STOCK, ColumnMapping, MappingError, RecordNormaliser
from domain.ingest.readers import RawRecord, ReadError, iter_records
from domain.ingest.report import IngestError, IngestSummary, Rejects, batches, reason_of
from domain.ingest.tiers import derive_missing_tiers
from domain.ingest.values import derived_product_id, language_of
from domain.ingest.writer import KeyCache, write_batch
from domain.models import Order, OrderLine, OrderStatus, Product, User
from domain.privacy.crypto import PiiCipher
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine

TRANSACTIONS = "transactions"
OTHER_CATEGORY = ("other", "其他")
MAX_QUANTITY = 10_000  # the order line's own bound


class LineItem(BaseModel):
    """One row of a transactions file, after column mapping and value parsing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    order_id: str = Field(min_length=1, max_length=60)
    user_id: str | None = Field(default=None, max_length=64)
    created_at: datetime
    product_id: str | None = Field(default=None, max_length=64)
    product_name: str | None = Field(default=None, max_length=300)
    quantity: int = Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)
    unit_price: float = Field(ge=0)
    discount: float = Field(default=0.0, ge=0)
    status: OrderStatus | None = None

    @field_validator("quantity")
    @classmethod
    def _not_zero(cls, v: int) -> int:
        if v == 0:
            raise ValueError("a line item needs a quantity other than 0")
        return v


def _problem(item: LineItem) -> str | None:
    if not item.user_id:
        return "customer id missing: a line item without a customer cannot be attributed to anyone"
    if not (item.product_id or item.product_name):
        return "product missing: give a product id or a product name"
    return None


@dataclass
class _Order:
    user_id: str
    created_at: datetime
    status: OrderStatus
    first_line: int
    lines: list[tuple[str, int, float, float]] = field(default_factory=list)  # product, qty, price, discount


def ingest_transactions(
    settings: Settings,
    path: Path,
    *,
    batch_size: int = 5_000,
    rejects_path: Path | None = None,
    engine: Engine | None = None,
    mapping: ColumnMapping | None = None,
) -> IngestSummary:
    engine = engine or get_engine(settings)
    try:
        normalise = RecordNormaliser(TRANSACTIONS, set(LineItem.model_fields), mapping)
    except MappingError as exc:
        raise IngestError(str(exc)) from exc
    rejects_path = rejects_path or settings.data_dir / "rejects" / f"{path.name}.rejects.jsonl"
    rejects_path.unlink(missing_ok=True)
    summary = IngestSummary(path=path, kind=TRANSACTIONS, rejects_path=rejects_path)
    started = time.perf_counter()
    with ExitStack() as stack:
        rejects = Rejects(rejects_path, TRANSACTIONS, stack)
        try:
            items = _read(path, normalise, rejects, summary)
        except ReadError as exc:
            raise IngestError(str(exc)) from exc
        product_of = _resolve_products(engine, items)
        orders = _group_orders(items, product_of, rejects)
        created = {
            "users": _create_users(engine, orders, items, PiiCipher.from_settings(settings)),
            "products": _create_products(engine, items, product_of),
        }
        summary.tiers_derived = derive_missing_tiers(engine) if created["products"] else 0
        stored, updated, lines = _write_orders(engine, orders, batch_size, rejects)
        created["orders"] = stored
        rejects.flush()
    summary.created, summary.lines_stored = created, lines
    summary.stored, summary.updated = stored, updated
    summary.ignored_columns = sorted(normalise.ignored)
    summary.rejected = rejects.count
    summary.seconds = time.perf_counter() - started
    return summary


def _read(
    path: Path, normalise: RecordNormaliser, rejects: Rejects, summary: IngestSummary
) -> list[tuple[RawRecord, LineItem]]:
    items: list[tuple[RawRecord, LineItem]] = []
    for batch in batches(iter_records(path), 10_000):
        summary.read += len(batch)
        for record in batch:
            if record.data is None:
                rejects.add(record, record.error or "unreadable row")
                continue
            try:
                item = LineItem.model_validate(normalise(record.data))
            except ValidationError as exc:
                rejects.add(record, reason_of(exc))
                continue
            problem = _problem(item)
            if problem:
                rejects.add(record, problem)
                continue
            items.append((record, item))
    return items


def _resolve_products(engine: Engine, items: list[tuple[RawRecord, LineItem]]) -> dict[int, str]:
    """Row position -> product id: the given id, else the catalog product with that title, else a derived id."""
    p = schema.products
    wanted = {i.product_name.lower() for _, i in items if not i.product_id and i.product_name}
    by_title: dict[str, str] = {}
    if wanted:
        with engine.connect() as conn:
            for pid, en, zh in conn.execute(select(p.c.product_id, p.c.title_en, p.c.title_zh)):
                for title in (en, zh):
                    if title and title.lower() in wanted:
                        by_title.setdefault(title.lower(), pid)
    resolved: dict[int, str] = {}
    for position, (_, item) in enumerate(items):
        if item.product_id:
            resolved[position] = item.product_id
        else:
            name = str(item.product_name)
            resolved[position] = by_title.get(name.lower()) or derived_product_id(name)
    return resolved


def _group_orders(
    items: list[tuple[RawRecord, LineItem]], product_of: dict[int, str], rejects: Rejects
) -> dict[str, _Order]:
    has_sales = {i.order_id for _, i in items if i.quantity > 0}
    orders: dict[str, _Order] = {}
    for position, (record, item) in enumerate(items):
        is_return = item.quantity < 0
        order_id = f"{item.order_id}-R" if is_return and item.order_id in has_sales else item.order_id
        order = orders.get(order_id)
        if order is None:
            status = OrderStatus.returned if is_return else (item.status or OrderStatus.paid)
            order = orders[order_id] = _Order(str(item.user_id), item.created_at, status, record.line_no)
        elif order.user_id != item.user_id:
            rejects.add(
                record, f"order {item.order_id!r} belongs to customer {order.user_id!r}, not {item.user_id!r}"
            )
            continue
        order.created_at = min(order.created_at, item.created_at)
        order.lines.append((product_of[position], abs(item.quantity), item.unit_price, item.discount))
    return orders


def _missing(engine: Engine, table: Any, column: str, keys: set[str]) -> set[str]:
    cache = KeyCache()
    cache.ensure(engine, table, column, keys)
    return keys - cache.known(table)


def _create_users(
    engine: Engine, orders: dict[str, _Order], items: list[tuple[RawRecord, LineItem]], cipher: PiiCipher
) -> int:
    first_seen: dict[str, datetime] = {}
    for order in orders.values():
        seen = first_seen.get(order.user_id)
        first_seen[order.user_id] = order.created_at if seen is None else min(seen, order.created_at)
    new = _missing(engine, schema.users, "user_id", set(first_seen))
    # The shop's language, from the product names its customers bought (a line item says nothing else).
    names = " ".join(i.product_name or "" for _, i in items[:500])
    language = language_of(names)
    users = [
        (RawRecord(0, {}, uid), User(user_id=uid, signup_at=first_seen[uid], language=language))
        for uid in sorted(new)
    ]
    if users:
        write_batch(engine, SPECS["users"], users, cipher, check_existing=False)  # type: ignore[arg-type]
    return len(users)


def _create_products(
    engine: Engine, items: list[tuple[RawRecord, LineItem]], product_of: dict[int, str]
) -> int:
    prices: dict[str, list[float]] = defaultdict(list)
    names: dict[str, str] = {}
    for position, (_, item) in enumerate(items):
        pid = product_of[position]
        if item.unit_price > 0:
            prices[pid].append(item.unit_price)
        if item.product_name:
            names[pid] = item.product_name
    new = _missing(engine, schema.products, "product_id", set(product_of.values()))
    products = []
    for pid in sorted(new):
        if not prices.get(pid):
            continue  # never sold at a price: its lines are rejected by the store's foreign key check
        title = names.get(pid, pid)
        language = language_of(title)
        products.append(
            (
                RawRecord(0, {}, pid),
                Product(
                    product_id=pid,
                    **{f"title_{language}": title},
                    category=OTHER_CATEGORY[0],
                    category_zh=OTHER_CATEGORY[1],
                    price=round(statistics.median(prices[pid]), 2),
                    stock=ASSUMED_STOCK,
                ),
            )
        )
    if products:
        write_batch(engine, SPECS["products"], products, None, check_existing=False)  # type: ignore[arg-type]
    return len(products)


def _write_orders(
    engine: Engine, orders: dict[str, _Order], batch_size: int, rejects: Rejects
) -> tuple[int, int, int]:
    with engine.connect() as conn:
        known_products = set(conn.execute(select(schema.products.c.product_id)).scalars())
    valid: list[tuple[RawRecord, BaseModel]] = []
    for order_id, order in orders.items():
        record = RawRecord(order.first_line, {"lines": True}, {"order_id": order_id})
        unknown = next((pid for pid, *_ in order.lines if pid not in known_products), None)
        if unknown is not None:
            rejects.add(record, f"product {unknown!r} is not in the catalog and was never sold at a price")
            continue
        lines = [
            OrderLine(
                order_id=order_id, line_no=n, product_id=pid, quantity=q, unit_price=price, discount=off
            )
            for n, (pid, q, price, off) in enumerate(order.lines, start=1)
        ]
        valid.append(
            (
                record,
                Order(
                    order_id=order_id,
                    user_id=order.user_id,
                    created_at=order.created_at,
                    status=order.status,
                    lines=lines,
                ),
            )
        )
    inserted = updated = stored_lines = 0
    for start in range(0, len(valid), batch_size):
        result = write_batch(
            engine, SPECS["orders"], valid[start : start + batch_size], None, check_existing=True
        )
        inserted, updated = inserted + result.inserted, updated + result.updated
        stored_lines += result.nested_lines
        for record, reason in result.failed:
            rejects.add(record, reason)
    return inserted, updated, stored_lines
