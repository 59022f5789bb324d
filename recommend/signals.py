"""Per-user signals for the re-ranker: the user's own history to ``as_of`` plus value signals.

Value signals come from the valuation service's assessment when it is available (live use, or an offline run where
the whole store is history), else from history alone: value score = the user's spend percentile, price
sensitivity = the share of money saved by discounts. ``value_source`` records which one was used.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Engine, Row

from domain.models import NOT_SPEND_STATUSES, ValueAssessment
from domain.store.schema import events, order_lines, orders, value_assessments
from recommend.config import RecommenderConfig
from recommend.models import TIER_RANK, UserSignals
from recommend.snapshot import CatalogSnapshot

log = logging.getLogger(__name__)

_VIEW_KINDS = ("view", "click", "add_to_cart")
_TIER_NAMES = {rank: name for name, rank in TIER_RANK.items()}


def _age_weights(stamps: list[datetime], as_of: datetime, half_life_days: float) -> np.ndarray:
    ages = np.array([(as_of - ts).total_seconds() / 86400.0 for ts in stamps], dtype=float)
    return np.power(0.5, np.clip(ages, 0, None) / half_life_days)


def user_history_rows(engine: Engine, user_id: str, as_of: datetime | None) -> tuple[list[Row], list[Row]]:
    """(purchase lines, browse/search events) of one user up to ``as_of``; cheap indexed queries, plain rows."""
    q_lines = (
        select(
            order_lines.c.product_id,
            orders.c.created_at,
            order_lines.c.unit_price,
            order_lines.c.quantity,
            order_lines.c.amount,
            order_lines.c.discount,
        )
        .select_from(order_lines.join(orders, order_lines.c.order_id == orders.c.order_id))
        .where(orders.c.user_id == user_id, orders.c.status.not_in(NOT_SPEND_STATUSES))
    )
    q_events = (
        select(events.c.kind, events.c.ts, events.c.product_id, events.c.query)
        .where(events.c.user_id == user_id, events.c.kind.in_((*_VIEW_KINDS, "search")))
        .order_by(events.c.ts.desc())
        .limit(300)
    )
    if as_of is not None:
        q_lines = q_lines.where(orders.c.created_at <= as_of)
        q_events = q_events.where(events.c.ts <= as_of)
    with engine.connect() as conn:
        return list(conn.execute(q_lines)), list(conn.execute(q_events))


def stored_assessment(engine: Engine, user_id: str) -> ValueAssessment | None:
    """The last batch assessment stored by ``assess_all`` (a fast path when the service is busy or absent)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(value_assessments.c.payload).where(value_assessments.c.user_id == user_id)
        ).first()
    if row is None:
        return None
    try:
        return ValueAssessment.model_validate(row[0])
    except ValueError:
        return None


def build_signals(
    engine: Engine,
    snapshot: CatalogSnapshot,
    config: RecommenderConfig,
    user_id: str | None,
    *,
    as_of: datetime | None = None,
    assessment: ValueAssessment | None = None,
) -> UserSignals:
    if user_id is None:
        return UserSignals()
    raw_lines, evs = user_history_rows(engine, user_id, as_of)
    now = as_of or snapshot.as_of
    lines = [r for r in raw_lines if r.product_id in snapshot.pos]
    sig = UserSignals(user_id=user_id, has_history=bool(lines or evs))

    cat_weights: Counter[str] = Counter()
    brand_weights: Counter[str] = Counter()
    if lines:
        w = _age_weights([r.created_at for r in lines], now, config.history_half_life_days)
        prods = [snapshot.products[r.product_id] for r in lines]
        tiers = np.array([TIER_RANK[p.price_tier.value] for p in prods], dtype=float)
        sig.history_tier_rank = float(np.average(tiers, weights=w + 1e-9))
        tier_weight: Counter[int] = Counter()
        prices_by_cat: dict[str, list[float]] = {}
        for r, prod, weight, tier in zip(lines, prods, w, tiers, strict=True):
            sig.purchased[r.product_id] = max(sig.purchased.get(r.product_id, 0.0), float(weight))
            cat_weights[prod.category] += float(weight)
            brand_weights[prod.brand] += float(weight)
            tier_weight[int(tier)] += float(weight)
            prices_by_cat.setdefault(prod.category, []).append(float(r.unit_price))
        sig.purchased_titles = {pid: snapshot.products[pid].title("en") for pid in sig.purchased}
        prices = np.array([float(r.unit_price) for r in lines])
        sig.paid_price_low = float(np.percentile(prices, 10))
        sig.paid_price_high = float(np.percentile(prices, 90))
        sig.paid_range_by_category = {
            cat: (float(np.percentile(v, 10)), float(np.percentile(v, 90)))
            for cat, v in prices_by_cat.items()
        }
        sig.usual_tier = _TIER_NAMES[tier_weight.most_common(1)[0][0]]
    views = [e for e in evs if e.kind in _VIEW_KINDS and e.product_id in snapshot.pos]
    if views:
        vw = _age_weights([e.ts for e in views], now, config.history_half_life_days / 4)
        for e, weight in zip(views, vw, strict=True):
            boost = 1.5 if e.kind == "add_to_cart" else 1.0
            sig.viewed[e.product_id] = min(
                1.0, sig.viewed.get(e.product_id, 0.0) + float(weight) * boost * 0.5
            )
            cat_weights[snapshot.products[e.product_id].category] += float(weight) * 0.3
    queries = [e.query.strip() for e in evs if e.kind == "search" and e.query and e.query.strip()]
    sig.recent_queries = list(dict.fromkeys(queries))[:3]
    total = sum(cat_weights.values())
    if total > 0:
        top = cat_weights.most_common(6)
        sig.category_affinity = {c: v / top[0][1] for c, v in top}
    if brand_weights:
        top_b = brand_weights.most_common(5)
        sig.brand_affinity = {b: v / top_b[0][1] for b, v in top_b}

    if assessment is not None:
        sig.value_score = float(assessment.score)
        sig.price_sensitivity = float(assessment.price_sensitivity)
        sig.segment = assessment.segment.value
        sig.likely_categories = [c for c in assessment.likely_categories if c][:5]
        sig.value_source = "valuation"
    elif lines:
        own = sum(float(r.amount) for r in lines)
        sig.value_score = snapshot.spend_percentile(own)
        gross = sum(float(r.unit_price) * int(r.quantity) for r in lines)
        saved = sum(float(r.discount or 0.0) for r in lines)
        # Discount share of 0 → 0.2, 30 %+ → 1.0: even full-price buyers are not fully price-blind.
        sig.price_sensitivity = float(min(1.0, 0.2 + (saved / gross if gross else 0.0) * 2.7))
        sig.value_source = "history"
    return sig
