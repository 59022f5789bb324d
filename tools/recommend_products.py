"""Tool: value-aware recommendations for the session's user, each with a short reason in the reply language."""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from domain.models import Language
from recommend.recommender import get_recommender
from tools.context import ShopContext
from tools.product_search import validate_price_range
from tools.sanitize import neutralise
from tools.schemas import ProductBrief

log = logging.getLogger(__name__)


class RecommendedItem(ProductBrief):
    reason: str
    score: float


class RecommendationResult(BaseModel):
    user_id: str | None = None
    query: str | None = None
    personalised: bool = True
    products: list[RecommendedItem] = Field(default_factory=list)


def recommend_products(
    ctx: ShopContext,
    user_id: str | None = None,
    *,
    query: str | None = None,
    k: int = 5,
    min_price: float | None = None,
    max_price: float | None = None,
    category: str | None = None,
    language: Language = "zh",
    use_value_signals: bool = True,
) -> RecommendationResult:
    """Top-k in-stock products for the subject (and an optional request), re-ranked by their value profile.

    A staff session without a user id gets non-personalised recommendations (no user data is read).
    """
    validate_price_range(min_price, max_price)
    k = max(1, min(int(k), 12))
    uid: str | None = None
    if not (ctx.principal.is_staff and not user_id):
        uid = ctx.subject(user_id, "recommend_products")
    query = (query or "").strip()[:500] or None
    recs = get_recommender(ctx.settings).recommend(
        user_id=uid,
        query=query,
        k=k,
        min_price=min_price,
        max_price=max_price,
        category=category or None,
        use_value_signals=use_value_signals,
    )
    items = [
        RecommendedItem(
            **ProductBrief.of(r.product, language).model_dump(),
            reason=neutralise(r.reason(language), 160),
            score=r.score,
        )
        for r in recs
    ]
    return RecommendationResult(user_id=uid, query=query, personalised=uid is not None, products=items)
