"""Stage 1: candidate generation from several sources, each giving a [0, 1] signal per product.

Sources: hybrid retrieval for the request (or, with no request, for the user's recent searches), co-purchase
neighbours of what the user bought, top items of the user's favourite categories, recently viewed items, trending
and popular items. All sources apply the same hard filters (existing, in stock, price range, category).
With an explicit request only the retrieval hits are candidates: personal signals then re-rank what was asked for
instead of replacing it. A category with no request text is a request for the whole category: its items (the
``category_request_k`` most popular and best rated) are all equally relevant, and the personal signals rank them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from recommend.config import RecommenderConfig
from recommend.models import UserSignals
from recommend.snapshot import CatalogSnapshot

log = logging.getLogger(__name__)

# (query, k, min_price, max_price, category) -> product ids, best first
SearchFn = Callable[[str, int, float | None, float | None, str | None], list[str]]


@dataclass
class Candidate:
    product_id: str
    signals: dict[str, float] = field(default_factory=dict)
    sources: set[str] = field(default_factory=set)
    co_purchase_anchor: str | None = None  # the bought item it is most often bought with

    def add(self, source: str, signal: str, value: float) -> None:
        self.sources.add(source)
        self.signals[signal] = max(self.signals.get(signal, 0.0), float(value))


@dataclass
class Filters:
    min_price: float | None = None
    max_price: float | None = None
    category: str | None = None

    def allowed_mask(self, snap: CatalogSnapshot) -> np.ndarray:
        mask = np.zeros(len(snap.ids), dtype=bool)
        for i, pid in enumerate(snap.ids):
            p = snap.products[pid]
            mask[i] = (
                p.in_stock
                and (self.min_price is None or p.price >= self.min_price)
                and (self.max_price is None or p.price <= self.max_price)
                and (self.category is None or p.category == self.category)
            )
        return mask


def _rank_signal(rank: int, scale: float = 10.0) -> float:
    # Retrieval ranks → a smooth [0, 1] relevance: with scale 10, top hit 1.0, 10th ≈ 0.5, 40th ≈ 0.2.
    return 1.0 / (1.0 + rank / scale)


def generate(
    snap: CatalogSnapshot,
    sig: UserSignals,
    config: RecommenderConfig,
    filters: Filters,
    query: str | None,
    search: SearchFn | None,
) -> dict[str, Candidate]:
    allowed = filters.allowed_mask(snap)
    pool: dict[str, Candidate] = {}

    def take(pid: str) -> Candidate | None:
        i = snap.pos.get(pid)
        if i is None or not allowed[i]:
            return None
        return pool.setdefault(pid, Candidate(pid))

    def retrieve(text: str, k: int, source: str, scale: float, rank_scale: float = 10.0) -> None:
        if search is None or k <= 0:
            return
        try:
            hits = search(text, k, filters.min_price, filters.max_price, filters.category)
        except Exception as exc:  # the index may be missing or rebuilding: degrade to history sources
            log.warning("product search failed for recommendations: %s", exc)
            return
        for rank, pid in enumerate(hits):
            cand = take(pid)
            if cand is not None:
                cand.add(source, "relevance", scale * _rank_signal(rank, rank_scale))

    if query:
        retrieve(query, config.retrieval_k, "request", 1.0, config.request_rank_scale)
        return pool
    if filters.category and config.category_request_k > 0:
        # "Recommend a skincare product": every item of the category is what was asked for, equally; the personal
        # and value signals rank them. Recent searches would only add noise here (a sunscreen "related to your
        # search for wet wipes"), and so would retrieval ranks for words that name nothing but the category.
        base = 0.6 * snap.popularity + 0.4 * snap.quality
        for j in np.argsort(-np.where(allowed, base, -1.0))[: config.category_request_k]:
            if allowed[j]:
                pool.setdefault(snap.ids[j], Candidate(snap.ids[j])).add("request", "relevance", 1.0)
        return pool

    for q in sig.recent_queries:
        retrieve(q, config.implicit_query_k, "recent_search", 0.6)

    if sig.purchased and config.co_purchase_k > 0:
        idx = [snap.pos[p] for p in sig.purchased]
        weights = np.array([sig.purchased[p] for p in sig.purchased])
        rows = snap.co_purchase[idx].toarray()  # bought items x catalog, small and dense
        scores = rows.T @ weights
        scores[~allowed] = 0.0
        if scores.max() > 0:
            top = np.argsort(-scores)[: config.co_purchase_k]
            norm = scores[top[0]]
            for j in top:
                if scores[j] <= 0:
                    break
                cand = take(snap.ids[j])
                if cand is not None:
                    cand.add("co_purchase", "co_purchase", scores[j] / norm)
                    cand.co_purchase_anchor = snap.ids[idx[int(np.argmax(rows[:, j] * weights))]]

    affinity = dict(sig.category_affinity)
    for rank, cat in enumerate(sig.likely_categories):
        affinity[cat] = max(affinity.get(cat, 0.0), 0.8 - 0.1 * rank)
    if affinity and config.category_k > 0:
        base = 0.6 * snap.popularity + 0.4 * snap.quality
        for cat, strength in affinity.items():
            members = [
                i for i, pid in enumerate(snap.ids) if allowed[i] and snap.products[pid].category == cat
            ]
            members.sort(key=lambda i: -base[i])
            for i in members[: config.category_k]:
                cand = take(snap.ids[i])
                if cand is not None:
                    cand.add("category", "category_affinity", strength)

    for pid, weight in sorted(sig.viewed.items(), key=lambda kv: -kv[1])[: config.viewed_k]:
        cand = take(pid)
        if cand is not None:
            cand.add("recently_viewed", "recently_viewed", weight)

    for source, values, k in (
        ("trending", snap.trending, config.trending_k),
        ("popular", snap.popularity, config.popular_k),
    ):
        masked = np.where(allowed, values, -1.0)
        for j in np.argsort(-masked)[:k]:
            if masked[j] <= 0:
                break
            cand = take(snap.ids[j])
            if cand is not None:
                cand.sources.add(source)
    return pool
