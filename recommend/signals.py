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
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.models import ValueAssessment
from domain.store.schema import events, order_lines, orders, value_assessments
from recommend.catalog import CatalogSnapshot
from recommend.config import RecommenderConfig
from recommend.models import TIER_RANK, UserSignals

log = logging.getLogger(__name__)

_VIEW_KINDS = ("view", "click", "add_to_cart")
_TIER_NAMES = {rank: name for name, rank in TIER_RANK.items()}


def _recency_weight(ts: pd.Series | datetime, as_of: datetime, half_life_days: float) -> np.ndarray:
    age = (pd.Timestamp(as_of) - pd.to_datetime(ts)) / pd.Timedelta(days=1)
    return np.power(0.5, np.clip(np.asarray(age, dtype=float), 0, None) / half_life_days)


def user_history_frames(
    engine: Engine, user_id: str, as_of: datetime | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(purchase lines, browse/search events) of one user up to ``as_of``; cheap indexed queries."""
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
        .where(orders.c.user_id == user_id, orders.c.status != "cancelled")
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
        lines = pd.DataFrame(
            conn.execute(q_lines).fetchall(), columns=[c.name for c in q_lines.selected_columns]
        )
        evs = pd.DataFrame(
            conn.execute(q_events).fetchall(), columns=[c.name for c in q_events.selected_columns]
        )
    return lines, evs


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
    lines, evs = user_history_frames(engine, user_id, as_of)
    now = as_of or snapshot.as_of
    lines = lines[lines["product_id"].isin(snapshot.pos)] if len(lines) else lines
    sig = UserSignals(user_id=user_id, has_history=bool(len(lines) or len(evs)))

    cat_weights: Counter[str] = Counter()
    brand_weights: Counter[str] = Counter()
    if len(lines):
        w = _recency_weight(lines["created_at"], now, config.history_half_life_days)
        tiers = np.array([TIER_RANK[snapshot.products[p].price_tier.value] for p in lines["product_id"]])
        sig.history_tier_rank = float(np.average(tiers, weights=w + 1e-9))
        for pid, weight in zip(lines["product_id"], w, strict=True):
            sig.purchased[pid] = max(sig.purchased.get(pid, 0.0), float(weight))
            prod = snapshot.products[pid]
            cat_weights[prod.category] += float(weight)
            brand_weights[prod.brand] += float(weight)
        sig.purchased_titles = {pid: snapshot.products[pid].title_en for pid in sig.purchased}
        prices = lines["unit_price"].astype(float)
        sig.paid_price_low = float(np.percentile(prices, 10))
        sig.paid_price_high = float(np.percentile(prices, 90))
        cats = lines["product_id"].map(lambda pid: snapshot.products[pid].category)
        for cat, cat_prices in prices.groupby(cats):
            sig.paid_range_by_category[str(cat)] = (
                float(np.percentile(cat_prices, 10)),
                float(np.percentile(cat_prices, 90)),
            )
        tier_weight: Counter[int] = Counter()
        for t, weight in zip(tiers, w, strict=True):
            tier_weight[int(t)] += float(weight)
        sig.usual_tier = _TIER_NAMES[tier_weight.most_common(1)[0][0]]
    if len(evs):
        views = evs[evs["kind"].isin(_VIEW_KINDS) & evs["product_id"].isin(snapshot.pos)]
        if len(views):
            vw = _recency_weight(views["ts"], now, config.history_half_life_days / 4)
            for pid, weight, kind in zip(views["product_id"], vw, views["kind"], strict=True):
                boost = 1.5 if kind == "add_to_cart" else 1.0
                sig.viewed[pid] = min(1.0, sig.viewed.get(pid, 0.0) + float(weight) * boost * 0.5)
                cat_weights[snapshot.products[pid].category] += float(weight) * 0.3
        queries = evs[(evs["kind"] == "search") & evs["query"].notna()]["query"].tolist()
        sig.recent_queries = list(dict.fromkeys(q.strip() for q in queries if q and q.strip()))[:3]
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
    elif len(lines):
        spend = snapshot.spend_by_user
        own = float(lines["amount"].sum())
        sig.value_score = float((spend < own).mean() * 100.0) if len(spend) else 50.0
        gross = float((lines["unit_price"] * lines["quantity"]).sum())
        saved = float(lines["discount"].sum())
        # Discount share of 0 → 0.2, 30 %+ → 1.0: even full-price buyers are not fully price-blind.
        sig.price_sensitivity = float(min(1.0, 0.2 + (saved / gross if gross else 0.0) * 2.7))
        sig.value_source = "history"
    return sig
