"""The recommender's weights, in one documented pydantic model.

Scoring (stage 2) is a weighted sum of per-candidate signals, each in [0, 1]:

``score = relevance·w_relevance + co_purchase·w_co_purchase + category_affinity·w_category_affinity
        + brand_affinity·w_brand_affinity + recently_viewed·w_recently_viewed
        + popularity·w_popularity + trending·w_trending
        - already_bought·w_repurchase_penalty``
and, when value signals are on (the default; ``use_value_signals=False`` is the ablation):
``      + tier_fit·w_tier_fit + promo·price_sensitivity·w_promotion + quality·premiumness·w_quality``

- *category_affinity* / *brand_affinity*: the recency-weighted share of the user's purchases (views count 0.3)
  in the item's category / brand, relative to their top one; valuation's likely next categories count too.
- *tier_fit* = exp(-(tier_rank - target_rank)² / (2·tier_sigma²)) with tier ranks budget 0, mid 1, premium 2,
  luxury 3. The target is the user's recency-weighted purchase tier, shifted up by ``value_tier_shift`` for a high
  value score (premiumness) and down by the same for high price sensitivity.
- *promo* = on_promotion · (0.5 + discount_pct): a price-sensitive user gets deals first.
- *quality* = Bayesian-smoothed rating (prior ``rating_prior`` over ``rating_prior_count`` votes), rescaled to
  [0, 1] over 3–5 stars: premium users get the best-rated items first.
With an explicit request, every signal except relevance is multiplied by min(1, relevance / request_gate_saturation): personal
and value signals re-rank what was asked for rather than replace it.
Diversity (greedy, MMR-like): each pick subtracts ``same_brand_penalty`` / ``same_category_penalty`` from the
remaining candidates sharing its brand / category, with hard caps ``max_per_brand`` and ``max_per_category``.
The defaults were chosen on the ``split`` protocol of ``recommend.evaluate`` (the store's own history cut 90 days
before its end: validation data), never on the demo's hidden truth file, which is kept for the reported test.
Availability is a filter, not a weight: only existing, in-stock products are ever returned.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class RecommenderConfig(BaseModel):
    # --- stage 1: candidate pool sizes per source ---
    retrieval_k: int = Field(60, ge=1, description="hybrid-search hits taken for the request")
    implicit_query_k: int = Field(40, ge=0, description="hits for the user's recent searches when no request")
    co_purchase_k: int = Field(60, ge=0)
    category_k: int = Field(25, ge=0, description="top items per affine category")
    category_request_k: int = Field(
        400, ge=0, description="items of the category a category-only request ranks (0: the history sources)"
    )
    viewed_k: int = Field(30, ge=0)
    trending_k: int = Field(30, ge=0)
    popular_k: int = Field(30, ge=0)
    # --- stage 2: relevance and personal signals ---
    w_relevance: float = 1.0
    request_rank_scale: float = Field(10.0, gt=0, description="relevance = 1/(1+rank/scale) for request hits")
    request_gate_saturation: float = Field(
        0.5, gt=0, le=1, description="relevance at which personal/value signals count fully for a request"
    )
    w_co_purchase: float = 0.8
    w_category_affinity: float = 0.7
    w_recently_viewed: float = 0.5
    w_brand_affinity: float = 0.4
    w_popularity: float = 0.35
    w_trending: float = 0.15
    w_repurchase_penalty: float = 0.3
    # --- stage 2: value signals (off in the ablation) ---
    w_tier_fit: float = 0.8
    w_promotion: float = 0.8
    w_quality: float = 0.3
    tier_sigma: float = Field(0.7, gt=0)
    value_tier_shift: float = Field(
        0.6, ge=0, description="max shift of the target tier from value/sensitivity"
    )
    rating_prior: float = 4.0
    rating_prior_count: int = 20
    # --- stage 2: diversity ---
    max_per_brand: int = Field(2, ge=1)
    max_per_category: int = Field(3, ge=1, description="ignored when the request names a category")
    same_brand_penalty: float = 0.15
    same_category_penalty: float = 0.08
    # --- windows (days) for the global statistics ---
    popularity_days: int = 90
    trending_days: int = 14
    history_half_life_days: float = 120.0
