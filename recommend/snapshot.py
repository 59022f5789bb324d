"""Catalog plus the shop-wide statistics the recommender needs, held in memory as of a point in time.

One ``CatalogSnapshot`` per (database, as_of): products, per-item popularity and trending scores and the item-item
co-purchase matrix (users who bought A also bought B). The live recommender refreshes it after ``ttl_s``; the
offline evaluation builds it at the cut-off so no future purchase leaks into popularity or co-purchase.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from scipy import sparse
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.models import NOT_SPEND_STATUSES, Product
from domain.store.repository import list_products
from domain.store.schema import order_lines, orders
from recommend.config import RecommenderConfig
from recommend.models import TIER_RANK


def purchase_lines(engine: Engine, as_of: datetime | None = None) -> pd.DataFrame:
    """One row per order line that counts as spend up to ``as_of``: user_id, product_id, created_at, amount, discount."""
    query = (
        select(
            orders.c.user_id,
            order_lines.c.product_id,
            orders.c.created_at,
            order_lines.c.unit_price,
            order_lines.c.quantity,
            order_lines.c.amount,
            order_lines.c.discount,
        )
        .select_from(order_lines.join(orders, order_lines.c.order_id == orders.c.order_id))
        .where(orders.c.status.not_in(NOT_SPEND_STATUSES))
    )
    if as_of is not None:
        query = query.where(orders.c.created_at <= as_of)
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(query).fetchall(), columns=[c.name for c in query.selected_columns])
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    return frame


@dataclass
class CatalogSnapshot:
    as_of: datetime
    products: dict[str, Product]
    ids: list[str]
    pos: dict[str, int]
    tier_rank: np.ndarray
    quality: np.ndarray  # Bayesian rating rescaled to [0, 1]
    popularity: np.ndarray  # [0, 1], distinct recent buyers, log-scaled
    trending: np.ndarray  # [0, 1], recent share vs the longer window
    co_purchase: sparse.csr_matrix  # item x item, cosine-normalised co-buyer counts
    spend_by_user: pd.Series  # total spend per user up to as_of (for a value percentile without valuation)
    built_at: float = field(default_factory=time.monotonic)
    _sorted_spend: np.ndarray | None = None

    def spend_percentile(self, spend: float) -> float:
        """Share (0-100) of buyers up to as_of who spent less than ``spend``."""
        if self._sorted_spend is None:
            self._sorted_spend = np.sort(self.spend_by_user.to_numpy(dtype=float))
        if not len(self._sorted_spend):
            return 50.0
        return float(
            np.searchsorted(self._sorted_spend, spend, side="left") / len(self._sorted_spend) * 100.0
        )

    def in_stock_ids(self) -> list[str]:
        return [pid for pid in self.ids if self.products[pid].in_stock]


def build_snapshot(
    engine: Engine, config: RecommenderConfig, as_of: datetime | None = None
) -> CatalogSnapshot:
    catalog = {p.product_id: p for p in list_products(engine, limit=None)}
    ids = sorted(catalog)
    pos = {pid: i for i, pid in enumerate(ids)}
    n = len(ids)
    lines = purchase_lines(engine, as_of)
    now = as_of or (lines["created_at"].max() if len(lines) else datetime.now())
    now = pd.Timestamp(now).to_pydatetime()

    tier_rank = np.array([TIER_RANK[catalog[p].price_tier.value] for p in ids], dtype=float)
    ratings = np.array([catalog[p].rating for p in ids])
    counts = np.array([catalog[p].rating_count for p in ids], dtype=float)
    bayes = (ratings * counts + config.rating_prior * config.rating_prior_count) / (
        counts + config.rating_prior_count
    )
    quality = np.clip((bayes - 3.0) / 2.0, 0.0, 1.0)

    lines = lines[lines["product_id"].isin(pos)]
    recent = lines[lines["created_at"] > now - timedelta(days=config.popularity_days)]
    buyers = recent.groupby("product_id")["user_id"].nunique()
    popularity = np.zeros(n)
    for pid, c in buyers.items():
        popularity[pos[pid]] = np.log1p(c)
    if popularity.max() > 0:
        popularity /= popularity.max()

    hot = lines[lines["created_at"] > now - timedelta(days=config.trending_days)]
    hot_counts = hot.groupby("product_id")["user_id"].nunique()
    trending = np.zeros(n)
    window_ratio = config.popularity_days / max(config.trending_days, 1)
    for pid, c in hot_counts.items():
        base = buyers.get(pid, 0) / window_ratio
        trending[pos[pid]] = (c + 1) / (base + 1)  # smoothed lift of the last days over the usual rate
    trending = np.log(np.maximum(trending, 1.0))
    if trending.max() > 0:
        trending /= trending.max()

    co = sparse.csr_matrix((n, n))
    if len(lines):
        user_codes, _ = pd.factorize(lines["user_id"])
        item_codes = lines["product_id"].map(pos).to_numpy()
        ui = sparse.csr_matrix(
            (np.ones(len(lines)), (user_codes, item_codes)), shape=(user_codes.max() + 1, n)
        )
        ui.data[:] = 1.0  # bought at all, not how often
        ui.sum_duplicates()
        ui.data[:] = 1.0
        co = (ui.T @ ui).tocsr().astype(float)
        co.setdiag(0.0)
        co.eliminate_zeros()
        norms = np.sqrt(np.asarray(ui.sum(axis=0)).ravel()) + 1e-9
        co = sparse.diags(1.0 / norms) @ co @ sparse.diags(1.0 / norms)
        co = co.tocsr()
    spend = lines.groupby("user_id")["amount"].sum() if len(lines) else pd.Series(dtype=float)
    return CatalogSnapshot(
        as_of=now,
        products=catalog,
        ids=ids,
        pos=pos,
        tier_rank=tier_rank,
        quality=quality,
        popularity=popularity,
        trending=trending,
        co_purchase=co,
        spend_by_user=spend,
    )


class SnapshotCache:
    """Live snapshots per database URL, rebuilt after ``ttl_s`` seconds (catalog edits, new orders)."""

    def __init__(self, ttl_s: float = 300.0) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._snapshots: dict[str, CatalogSnapshot] = {}

    def get(self, url: str, engine: Engine, config: RecommenderConfig) -> CatalogSnapshot:
        with self._lock:
            snap = self._snapshots.get(url)
            if snap is None or time.monotonic() - snap.built_at > self.ttl_s:
                snap = build_snapshot(engine, config)
                self._snapshots[url] = snap
            return snap

    def clear(self) -> None:
        with self._lock:
            self._snapshots.clear()
