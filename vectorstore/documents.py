"""What gets indexed: product documents and per-user history documents, built from the store.

Each document carries a content hash of its text and metadata, so a refresh re-embeds and rewrites only what
changed. History ids are prefixed by the user id (``u123:order:o456``) and every history document carries
``user_id`` in its metadata: the filter that keeps one user's history away from another.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.store import schema

HistoryKind = str  # "order" | "review" | "search" | "browse"
HISTORY_KINDS = ("order", "review", "search", "browse")


class IndexDoc(BaseModel):
    id: str
    text: str
    metadata: dict[str, Any]
    # When set, the document's vector is the normalised mean of these texts' vectors instead of its own text's.
    # Orders and browsing sessions are bags of products: composing cached product-title vectors costs no forward
    # pass, where embedding ~160k unique session texts of the demo would take most of an hour on this machine.
    parts: list[str] = Field(default_factory=list)

    def content_hash(self) -> str:
        payload = json.dumps(
            [self.text, self.metadata, self.parts], sort_keys=True, ensure_ascii=False, default=str
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def product_text(row: dict[str, Any]) -> str:
    """Document text: titles in both languages, brand, category in both languages, model number, descriptions."""
    parts = [
        row["title_en"],
        row["title_zh"],
        row["brand"],
        str(row["category"]).replace("-", " "),
        row.get("category_zh") or "",
        row.get("sku") or "",
        row.get("description_en") or "",
        row.get("description_zh") or "",
    ]
    return " | ".join(p.strip() for p in parts if p and str(p).strip())


def product_doc(row: dict[str, Any]) -> IndexDoc:
    stock = int(row.get("stock") or 0)
    metadata = {
        "price": float(row["price"]),
        "category": str(row["category"]),
        "category_zh": str(row.get("category_zh") or ""),
        "brand": str(row["brand"]),
        "sku": str(row.get("sku") or ""),
        "price_tier": str(row["price_tier"]),
        "on_promotion": bool(row.get("on_promotion")),
        "discount_pct": float(row.get("discount_pct") or 0.0),
        "rating": float(row.get("rating") or 0.0),
        "in_stock": stock > 0,
    }
    return IndexDoc(id=str(row["product_id"]), text=product_text(row), metadata=metadata)


def iter_product_docs(engine: Engine) -> Iterator[IndexDoc]:
    with engine.connect() as conn:
        for row in conn.execute(select(schema.products).order_by(schema.products.c.product_id)).mappings():
            yield product_doc(dict(row))


def _epoch(ts: datetime) -> int:
    return int(ts.timestamp())


def _title(titles: dict[str, tuple[str, str]], product_id: str | None) -> str:
    if not product_id or product_id not in titles:
        return product_id or ""
    return " / ".join(t for t in titles[product_id] if t)


def iter_history_docs(engine: Engine, user_id: str | None = None) -> Iterator[IndexDoc]:
    """One document per order, review, search and browsing session, for every user (or one user)."""
    p, o, ol, r, e = schema.products, schema.orders, schema.order_lines, schema.reviews, schema.events
    with engine.connect() as conn:
        titles = {
            row.product_id: (row.title_en, row.title_zh)
            for row in conn.execute(select(p.c.product_id, p.c.title_en, p.c.title_zh))
        }
        order_q = select(o).order_by(o.c.order_id)
        review_q = select(r).order_by(r.c.review_id)
        event_q = select(e).order_by(e.c.user_id, e.c.ts, e.c.event_id)
        if user_id is not None:
            order_q = order_q.where(o.c.user_id == user_id)
            review_q = review_q.where(r.c.user_id == user_id)
            event_q = event_q.where(e.c.user_id == user_id)

        lines: dict[str, list[Any]] = defaultdict(list)
        line_q = select(ol).order_by(ol.c.order_id, ol.c.line_no)
        if user_id is not None:
            line_q = line_q.where(ol.c.order_id.in_(select(o.c.order_id).where(o.c.user_id == user_id)))
        for line in conn.execute(line_q):
            lines[line.order_id].append(line)

        for order in conn.execute(order_q):
            items = lines.get(order.order_id, [])
            amount = round(sum(float(li.amount) for li in items), 2)
            described = "; ".join(f"{li.quantity} x {_title(titles, li.product_id)}" for li in items)
            text = (
                f"Order 订单 {order.order_id} on {order.created_at:%Y-%m-%d}, status {order.status}, "
                f"total ¥{amount:.2f}: {described}"
            )
            yield IndexDoc(
                id=f"{order.user_id}:order:{order.order_id}",
                text=text,
                parts=[_title(titles, li.product_id) for li in items],
                metadata={
                    "user_id": order.user_id,
                    "kind": "order",
                    "ts": _epoch(order.created_at),
                    "amount": amount,
                    "source_id": order.order_id,
                },
            )

        for review in conn.execute(review_q):
            # The user's own words first: they are what staff search for ("what did this user complain about?").
            text = f"Review 评价 {review.rating}/5: {review.text or ''} (product 商品: {_title(titles, review.product_id)})"
            yield IndexDoc(
                id=f"{review.user_id}:review:{review.review_id}",
                text=text,
                metadata={
                    "user_id": review.user_id,
                    "kind": "review",
                    "ts": _epoch(review.created_at),
                    "amount": 0.0,
                    "rating": int(review.rating),
                    "product_id": review.product_id,
                    "source_id": review.review_id,
                },
            )

        yield from _event_docs(conn.execute(event_q), titles)


def _event_docs(rows: Any, titles: dict[str, tuple[str, str]]) -> Iterator[IndexDoc]:
    """Searches become one doc each; views/clicks/carts are grouped into one doc per browsing session."""
    sessions: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for ev in rows:
        if ev.kind == "search" and ev.query:
            yield IndexDoc(
                id=f"{ev.user_id}:search:{ev.event_id}",
                text=f"Searched 搜索: {ev.query}",
                metadata={
                    "user_id": ev.user_id,
                    "kind": "search",
                    "ts": _epoch(ev.ts),
                    "amount": 0.0,
                    "source_id": ev.event_id,
                },
            )
        elif ev.kind != "search":
            session = ev.session_id or f"{ev.ts:%Y%m%d}"  # no session id: one session per day
            sessions[(ev.user_id, session)].append(ev)
    for (uid, session), events in sessions.items():
        viewed = list(dict.fromkeys(_title(titles, ev.product_id) for ev in events if ev.product_id))
        carted = list(
            dict.fromkeys(_title(titles, ev.product_id) for ev in events if ev.kind == "add_to_cart")
        )
        text = f"Browsed 浏览 on {events[0].ts:%Y-%m-%d}: {'; '.join(viewed)}"
        if carted:
            text += f". Added to cart 加入购物车: {'; '.join(carted)}"
        yield IndexDoc(
            id=f"{uid}:browse:{session}",
            text=text,
            parts=viewed,
            metadata={
                "user_id": uid,
                "kind": "browse",
                "ts": _epoch(events[-1].ts),
                "amount": 0.0,
                "source_id": session,
            },
        )
