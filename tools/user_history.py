"""Tool: a user's shopping history — recent orders, reviews, searches, browsing, and history docs relevant to a query."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pydantic import BaseModel, Field

from domain.models import EventKind, Language
from domain.store.repository import list_events, list_orders, list_reviews, order_totals, products_by_id
from tools.context import ShopContext
from tools.sanitize import as_data, neutralise, quote_review
from tools.schemas import ReviewSnippet

log = logging.getLogger(__name__)


class OrderItem(BaseModel):
    product_id: str
    title: str
    quantity: int
    amount: float


class OrderSummary(BaseModel):
    order_id: str
    date: str
    status: str
    total: float
    items: list[OrderItem]


class ViewedItem(BaseModel):
    product_id: str
    title: str
    kind: str


class HistoryDoc(BaseModel):
    kind: str
    date: str
    text: str = Field(description="<data>-wrapped history text")


class UserHistory(BaseModel):
    user_id: str
    n_orders: int
    total_spend: float
    first_order: str | None = None
    last_order: str | None = None
    recent_orders: list[OrderSummary] = Field(default_factory=list)
    recent_reviews: list[ReviewSnippet] = Field(default_factory=list)
    recent_searches: list[str] = Field(default_factory=list, description="<data>-wrapped queries")
    recently_viewed: list[ViewedItem] = Field(default_factory=list)
    relevant: list[HistoryDoc] = Field(default_factory=list, description="history docs matching the query")


def _day(ts: datetime | None) -> str | None:
    return ts.date().isoformat() if ts else None


def get_user_history(
    ctx: ShopContext,
    user_id: str | None = None,
    *,
    query: str | None = None,
    limit: int = 5,
    language: Language = "zh",
) -> UserHistory:
    """The subject's recent orders, reviews, searches and views (+ history docs relevant to ``query``)."""
    uid = ctx.subject(user_id, "get_user_history")
    limit = max(1, min(int(limit), 10))
    engine = ctx.engine
    totals = order_totals(engine, uid)
    orders = list_orders(engine, uid, limit=limit)
    reviews = list_reviews(engine, uid, limit=limit)
    views = list_events(engine, uid, (EventKind.view, EventKind.click, EventKind.add_to_cart), limit * 3)
    searches = list_events(engine, uid, (EventKind.search,), limit)
    ids = {line.product_id for o in orders for line in o.lines} | {
        e.product_id for e in views if e.product_id
    }
    catalog = products_by_id(engine, sorted(ids))

    def title(pid: str) -> str:
        p = catalog.get(pid)
        return neutralise(p.title(language), 80) if p else pid

    out = UserHistory(
        user_id=uid,
        n_orders=totals.orders,
        total_spend=round(totals.spend, 2),
        first_order=_day(totals.first_order),
        last_order=_day(totals.last_order),
    )
    for o in orders:
        items = [
            OrderItem(
                product_id=li.product_id, title=title(li.product_id), quantity=li.quantity, amount=li.amount
            )
            for li in o.lines
        ]
        out.recent_orders.append(
            OrderSummary(
                order_id=o.order_id,
                date=_day(o.created_at) or "",
                status=o.status.value,
                total=round(sum(i.amount for i in items), 2),
                items=items,
            )
        )
    out.recent_reviews = [ReviewSnippet.of(review) for review in reviews]
    out.recent_searches = [as_data(s.query, 80) for s in searches if s.query]
    seen: set[str] = set()
    for e in views:
        pid = e.product_id
        if pid and pid not in seen and pid in catalog:
            seen.add(pid)
            out.recently_viewed.append(ViewedItem(product_id=pid, title=title(pid), kind=e.kind.value))
        if len(out.recently_viewed) >= limit:
            break
    if query and query.strip():
        try:
            hits = ctx.index.search_history(uid, query.strip(), k=limit)
        except Exception as exc:  # no history index yet: the store-side history above still answers
            log.warning("history search unavailable: %s", exc)
            hits = []
        for h in hits:
            if h.user_id != uid:  # defence in depth: the index already filters by user
                continue
            when = datetime.fromtimestamp(h.ts, tz=UTC).date().isoformat() if h.ts else ""
            out.relevant.append(HistoryDoc(kind=h.kind, date=when, text=quote_review(h.text, 240)))
    return out
