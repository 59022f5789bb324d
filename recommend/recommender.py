"""The value-aware recommender: candidates → value-aware re-ranking with diversity → truthful bilingual reasons.

``recommend(settings, user_id=..., query=...)`` is the entry point the tools and the UI use. ``Recommender`` holds
the per-process state (catalog snapshot, index, value service) and also serves the offline evaluation, which
passes ``as_of`` (a cut-off: no later data is read) and its own value provider.

Only existing, in-stock catalog items are returned: candidates are filtered on the snapshot and the final list is
re-checked against the store's current stock before it is returned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine

from domain.cache import per_settings
from domain.models import ValueAssessment
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import products_by_id
from recommend.candidates import Filters, SearchFn, generate
from recommend.config import RecommenderConfig
from recommend.models import Recommendation, UserSignals
from recommend.reasons import explain
from recommend.rerank import diversify, score_candidates
from recommend.signals import build_signals, stored_assessment
from recommend.snapshot import CatalogSnapshot, SnapshotCache, build_snapshot
from valuation.service import get_value_service
from vectorstore.index import get_shop_index

log = logging.getLogger(__name__)

ValueProvider = Callable[[str], ValueAssessment | None]


def index_search(settings: Settings, mode: str = "hybrid") -> SearchFn | None:
    """A SearchFn over the retrieval engineer's ShopIndex, or None when the index cannot be opened."""
    try:
        index = get_shop_index(settings)
    except Exception as exc:  # missing module, missing collection, Chroma down: recommend from history only
        log.warning("product index unavailable, recommending without retrieval: %s", exc)
        return None

    def search(
        query: str, k: int, min_price: float | None, max_price: float | None, category: str | None
    ) -> list[str]:
        hits = index.search_products(
            query,
            k=k,
            min_price=min_price,
            max_price=max_price,
            category=category,
            in_stock_only=True,
            mode=mode,
        )
        return [h.product_id for h in hits]

    return search


def service_value_provider(settings: Settings, engine: Engine, ttl_s: float = 600.0) -> ValueProvider:
    """Value assessments for re-ranking, cheapest source first.

    1. an in-process cache (``ttl_s``); 2. the batch assessment stored by ``assess_all`` (one indexed read);
    3. the valuation service's ``assess(with_llm=False)`` (~0.1 s: it builds the profile). A user the engine does
    not know (new since training) gets None: the re-ranker then derives value signals from history.
    """
    state: dict[str, object] = {}
    cache: dict[str, tuple[float, ValueAssessment | None]] = {}

    def provide(user_id: str) -> ValueAssessment | None:
        hit = cache.get(user_id)
        if hit is not None and time.monotonic() - hit[0] < ttl_s:
            return hit[1]
        found = stored_assessment(engine, user_id)
        if found is None:
            if "service" not in state:
                try:
                    state["service"] = get_value_service(settings)
                except Exception as exc:
                    log.warning("valuation service unavailable: %s", exc)
                    state["service"] = None
            service = state["service"]
            if service is not None:
                try:
                    found = service.assess(user_id, with_llm=False)  # type: ignore[attr-defined]
                except Exception as exc:  # unknown user, model not trained yet...
                    log.info("value assessment failed for %s: %s", user_id, exc)
        if len(cache) > 50_000:
            cache.clear()
        cache[user_id] = (time.monotonic(), found)
        return found

    return provide


class Recommender:
    def __init__(
        self,
        settings: Settings,
        config: RecommenderConfig | None = None,
        *,
        search: SearchFn | str | None = "index",
        value_provider: ValueProvider | str | None = "service",
        snapshot: CatalogSnapshot | None = None,
    ) -> None:
        self.settings = settings
        self.config = config or RecommenderConfig()
        self.engine = get_engine(settings)
        self._search_arg = search
        self._search: SearchFn | None = None
        self._search_ready = False
        self.value_provider: ValueProvider | None = (
            service_value_provider(settings, self.engine) if value_provider == "service" else value_provider  # type: ignore[assignment]
        )
        self._fixed_snapshot = snapshot
        self._cache = SnapshotCache()
        self._lock = threading.Lock()

    @property
    def search(self) -> SearchFn | None:
        with self._lock:
            if not self._search_ready:
                arg = self._search_arg
                self._search = index_search(self.settings) if arg == "index" else arg  # type: ignore[assignment]
                self._search_ready = True
        return self._search

    def snapshot(self, as_of: datetime | None = None) -> CatalogSnapshot:
        if self._fixed_snapshot is not None:
            return self._fixed_snapshot
        if as_of is not None:
            return build_snapshot(self.engine, self.config, as_of)
        return self._cache.get(self.settings.database_url, self.engine, self.config)

    def signals(
        self, user_id: str | None, *, as_of: datetime | None = None, use_value: bool = True
    ) -> UserSignals:
        snap = self.snapshot(as_of)
        assessment = None
        if user_id and use_value and self.value_provider is not None:
            assessment = self.value_provider(user_id)
        return build_signals(self.engine, snap, self.config, user_id, as_of=as_of, assessment=assessment)

    def recommend(
        self,
        *,
        user_id: str | None,
        query: str | None,
        k: int = 6,
        min_price: float | None = None,
        max_price: float | None = None,
        category: str | None = None,
        use_value_signals: bool = True,
        as_of: datetime | None = None,
        signals: UserSignals | None = None,
        check_stock: bool = True,
    ) -> list[Recommendation]:
        if k <= 0:
            return []
        if min_price is not None and max_price is not None and min_price > max_price:
            raise ValueError(f"min_price {min_price} is above max_price {max_price}")
        query = (query or "").strip() or None
        snap = self.snapshot(as_of)
        sig = signals or self.signals(user_id, as_of=as_of)
        filters = Filters(min_price=min_price, max_price=max_price, category=category or None)
        pool = generate(snap, sig, self.config, filters, query, self.search)
        scored = score_candidates(
            pool, snap, sig, self.config, use_value_signals=use_value_signals, request=query is not None
        )
        # A request names what kind of item is wanted: cap brands, not categories.
        # A few spares: an item sold out (or repriced out of the budget) since the snapshot is replaced.
        picked = diversify(
            scored, snap, self.config, k + 3, category_filtered=bool(category) or query is not None
        )
        fresh = products_by_id(self.engine, [x.candidate.product_id for x in picked]) if check_stock else None
        out: list[Recommendation] = []
        for item in picked:
            pid = item.candidate.product_id
            product = fresh.get(pid) if fresh is not None else snap.products[pid]
            if product is None or not product.in_stock:  # sold out or deleted since the snapshot
                continue
            if (min_price is not None and product.price < min_price) or (
                max_price is not None and product.price > max_price
            ):
                continue
            en, zh, codes = explain(item, snap, sig, query, filters)
            out.append(
                Recommendation(
                    product=product,
                    score=round(item.score, 4),
                    reason_en=en,
                    reason_zh=zh,
                    reason_codes=codes,
                    sources=sorted(item.candidate.sources),
                )
            )
            if len(out) == k:
                break
        return out


@per_settings("database_url", "chroma_path", "chroma_url")
def get_recommender(settings: Settings) -> Recommender:
    """One live recommender per store (database URL + Chroma path), shared by tools and UI."""
    return Recommender(settings)


def recommend(
    settings: Settings,
    *,
    user_id: str | None,
    query: str | None,
    k: int = 6,
    min_price: float | None = None,
    max_price: float | None = None,
    category: str | None = None,
    use_value_signals: bool = True,
) -> list[Recommendation]:
    """Top-k value-aware recommendations for a user (or anonymous) and an optional request text.

    Access control is the caller's job (the tools layer resolves whose data may be read).
    ``use_value_signals=False`` drops tier fit, promotion and quality boosts (the ablation).
    """
    return get_recommender(settings).recommend(
        user_id=user_id,
        query=query,
        k=k,
        min_price=min_price,
        max_price=max_price,
        category=category,
        use_value_signals=use_value_signals,
    )
