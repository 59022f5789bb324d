"""Small, indexed store reads used by the tools (one user at a time; never a scan of other users' rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from domain.store.schema import events, order_lines, orders, reviews


def user_orders(engine: Engine, user_id: str, limit: int = 5) -> list[dict[str, Any]]:
    """The user's most recent orders with their lines, newest first."""
    with engine.connect() as conn:
        heads = conn.execute(
            select(orders.c.order_id, orders.c.created_at, orders.c.status)
            .where(orders.c.user_id == user_id)
            .order_by(orders.c.created_at.desc())
            .limit(limit)
        ).fetchall()
        ids = [h.order_id for h in heads]
        lines = (
            conn.execute(
                select(order_lines).where(order_lines.c.order_id.in_(ids)).order_by(order_lines.c.line_no)
            ).fetchall()
            if ids
            else []
        )
    by_order: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(dict(line._mapping))
    return [
        {
            "order_id": h.order_id,
            "created_at": h.created_at,
            "status": h.status,
            "lines": by_order.get(h.order_id, []),
        }
        for h in heads
    ]


def order_by_id(engine: Engine, order_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        head = conn.execute(select(orders).where(orders.c.order_id == order_id)).first()
        if head is None:
            return None
        lines = conn.execute(
            select(order_lines).where(order_lines.c.order_id == order_id).order_by(order_lines.c.line_no)
        ).fetchall()
    return {**dict(head._mapping), "lines": [dict(line._mapping) for line in lines]}


def order_totals(engine: Engine, user_id: str) -> tuple[int, float, datetime | None, datetime | None]:
    """(orders, spend excluding cancelled/returned, first order, last order) of one user."""
    with engine.connect() as conn:
        n, first, last = conn.execute(
            select(func.count(), func.min(orders.c.created_at), func.max(orders.c.created_at)).where(
                orders.c.user_id == user_id
            )
        ).one()
        spend = conn.execute(
            select(func.coalesce(func.sum(order_lines.c.amount), 0.0))
            .select_from(order_lines.join(orders, order_lines.c.order_id == orders.c.order_id))
            .where(orders.c.user_id == user_id, orders.c.status.not_in(("cancelled", "returned")))
        ).scalar_one()
    return int(n), float(spend), first, last


def user_reviews(engine: Engine, user_id: str, limit: int = 5) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(reviews)
            .where(reviews.c.user_id == user_id)
            .order_by(reviews.c.created_at.desc())
            .limit(limit)
        ).fetchall()
    return [dict(r._mapping) for r in rows]


def product_reviews(engine: Engine, product_id: str, limit: int = 3) -> list[dict[str, Any]]:
    """Most helpful-looking reviews of a product: longest recent ones first (no reviewer identity returned)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(reviews.c.rating, reviews.c.text, reviews.c.language, reviews.c.created_at)
            .where(reviews.c.product_id == product_id)
            .order_by(reviews.c.created_at.desc())
            .limit(50)
        ).fetchall()
    picked = sorted(rows, key=lambda r: -len(r.text or ""))[:limit]
    return [dict(r._mapping) for r in picked]


def user_events(
    engine: Engine, user_id: str, kinds: tuple[str, ...], limit: int = 20
) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(events.c.kind, events.c.ts, events.c.product_id, events.c.query)
            .where(events.c.user_id == user_id, events.c.kind.in_(kinds))
            .order_by(events.c.ts.desc())
            .limit(limit)
        ).fetchall()
    return [dict(r._mapping) for r in rows]
