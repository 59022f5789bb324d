"""What each kind of record is: its pydantic model, table, primary key, foreign keys and row conversion."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Table

from domain.models import BehaviorEvent, Order, OrderLine, Product, Review, User
from domain.privacy.crypto import PiiCipher, mask_email, mask_phone
from domain.store import schema

MISSING_TIER = ""  # stored until domain/ingest/tiers.py derives the tier from the category's prices

KINDS: tuple[str, ...] = ("products", "users", "orders", "order_lines", "reviews", "events")

# File-name stems (after lower-casing) that name a kind, most specific first.
_STEM_ALIASES: tuple[tuple[str, str], ...] = (
    ("transactions", "transactions"),
    ("invoices", "transactions"),
    ("retail", "transactions"),
    ("sales", "transactions"),
    ("order_lines", "order_lines"),
    ("order-lines", "order_lines"),
    ("orderlines", "order_lines"),
    ("lines", "order_lines"),
    ("orders", "orders"),
    ("users", "users"),
    ("customers", "users"),
    ("products", "products"),
    ("catalog", "products"),
    ("reviews", "reviews"),
    ("events", "events"),
    ("behavior", "events"),
    ("behaviour", "events"),
)

# Derived fields that exports often carry; they are recomputed, never trusted from input.
COMPUTED_FIELDS: dict[str, tuple[str, ...]] = {
    "products": ("in_stock",),
    "orders": ("total",),
    "order_lines": ("amount",),
}


@dataclass(frozen=True)
class ForeignKey:
    field: str  # attribute on the model
    table: Table
    column: str
    label: str  # readable noun for reasons ("user")


@dataclass(frozen=True)
class KindSpec:
    name: str
    model: type[BaseModel]
    table: Table
    key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    to_row: Callable[[Any, PiiCipher | None], dict[str, Any]]


def _naive_utc(value: datetime) -> datetime:
    """The store keeps naive UTC datetimes; aware inputs are converted, naive ones are taken as UTC."""
    if type(value) is not datetime:  # e.g. pandas.Timestamp from Parquet: drivers want the plain type
        value = datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            value.microsecond,
            value.tzinfo,
        )
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _user_row(user: User, cipher: PiiCipher | None) -> dict[str, Any]:
    assert cipher is not None, "users need the PII cipher"
    return {
        "user_id": user.user_id,
        "signup_at": _naive_utc(user.signup_at),
        "language": user.language,
        "city": user.city,
        "name_enc": cipher.encrypt(user.name),
        "phone_enc": cipher.encrypt(user.phone),
        "email_enc": cipher.encrypt(user.email),
        "address_enc": cipher.encrypt(user.address),
        "phone_hmac": cipher.lookup_hash(user.phone),
        "email_hmac": cipher.lookup_hash(user.email),
        "phone_masked": mask_phone(user.phone),
        "email_masked": mask_email(user.email),
    }


def _product_row(p: Product, _cipher: PiiCipher | None) -> dict[str, Any]:
    return {
        "product_id": p.product_id,
        "sku": p.sku,
        "title_en": p.title_en,
        "title_zh": p.title_zh,
        "description_en": p.description_en,
        "description_zh": p.description_zh,
        "brand": p.brand,
        "category": p.category,
        "category_zh": p.category_zh,
        "price": p.price,
        "list_price": p.list_price,
        "price_tier": p.price_tier.value if p.price_tier else MISSING_TIER,
        "on_promotion": p.on_promotion,
        "discount_pct": p.discount_pct,
        "rating": p.rating,
        "rating_count": p.rating_count,
        "stock": p.stock,
    }


def _order_row(o: Order, _cipher: PiiCipher | None) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "user_id": o.user_id,
        "created_at": _naive_utc(o.created_at),
        "status": o.status.value,
    }


def line_row(line: OrderLine, _cipher: PiiCipher | None = None) -> dict[str, Any]:
    return {
        "order_id": line.order_id,
        "line_no": line.line_no,
        "product_id": line.product_id,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "discount": line.discount,
        "amount": round(line.quantity * line.unit_price - line.discount, 2),
    }


def _review_row(r: Review, _cipher: PiiCipher | None) -> dict[str, Any]:
    return {
        "review_id": r.review_id,
        "user_id": r.user_id,
        "product_id": r.product_id,
        "order_id": r.order_id,
        "rating": r.rating,
        "text": r.text,
        "language": r.language,
        "created_at": _naive_utc(r.created_at),
    }


def _event_row(e: BehaviorEvent, _cipher: PiiCipher | None) -> dict[str, Any]:
    return {
        "event_id": e.event_id,
        "user_id": e.user_id,
        "kind": e.kind.value,
        "ts": _naive_utc(e.ts),
        "session_id": e.session_id,
        "product_id": e.product_id,
        "query": e.query,
    }


_USER_FK = ForeignKey("user_id", schema.users, "user_id", "user")
_PRODUCT_FK = ForeignKey("product_id", schema.products, "product_id", "product")

SPECS: dict[str, KindSpec] = {
    "products": KindSpec("products", Product, schema.products, ("product_id",), (), _product_row),
    "users": KindSpec("users", User, schema.users, ("user_id",), (), _user_row),
    "orders": KindSpec("orders", Order, schema.orders, ("order_id",), (_USER_FK,), _order_row),
    "order_lines": KindSpec(
        "order_lines",
        OrderLine,
        schema.order_lines,
        ("order_id", "line_no"),
        (ForeignKey("order_id", schema.orders, "order_id", "order"), _PRODUCT_FK),
        line_row,
    ),
    "reviews": KindSpec(
        "reviews", Review, schema.reviews, ("review_id",), (_USER_FK, _PRODUCT_FK), _review_row
    ),
    "events": KindSpec(
        "events", BehaviorEvent, schema.events, ("event_id",), (_USER_FK, _PRODUCT_FK), _event_row
    ),
}


def kind_from_path(path: Path) -> str | None:
    stem = path.name.lower().split(".")[0]
    for alias, kind in _STEM_ALIASES:
        if alias in stem:
            return kind
    return None


def prepare_order(data: dict[str, Any]) -> dict[str, Any]:
    """Nested order lines may omit their order id and line number: fill them from the order and position."""
    lines = data.get("lines")
    if isinstance(lines, list):
        filled = []
        for position, line in enumerate(lines, start=1):
            if isinstance(line, dict):
                line = {k: v for k, v in line.items() if v is not None and k != "amount"}
                line.setdefault("order_id", data.get("order_id"))
                line.setdefault("line_no", position)
            filled.append(line)
        data = {**data, "lines": filled}
    return data
