"""Public data types of the recommender."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Product

TIER_RANK: dict[str, int] = {"budget": 0, "mid": 1, "premium": 2, "luxury": 3}


class Recommendation(BaseModel):
    """One recommended, existing, in-stock product with a short truthful reason in both languages."""

    product: Product
    score: float
    reason_en: str
    reason_zh: str
    reason_codes: list[str] = Field(default_factory=list, description="which signals the reason states")
    sources: list[str] = Field(default_factory=list, description="candidate sources that proposed the item")

    def reason(self, language: str) -> str:
        return self.reason_zh if language == "zh" else self.reason_en


class UserSignals(BaseModel):
    """What the re-ranker knows about a user at a point in time (history to ``as_of`` plus the value assessment)."""

    user_id: str | None = None
    has_history: bool = False
    purchased: dict[str, float] = Field(default_factory=dict, description="product_id -> recency weight")
    purchased_titles: dict[str, str] = Field(default_factory=dict, description="product_id -> title_en")
    viewed: dict[str, float] = Field(default_factory=dict, description="product_id -> recency weight")
    recent_queries: list[str] = Field(default_factory=list)
    category_affinity: dict[str, float] = Field(
        default_factory=dict, description="category -> share in [0,1]"
    )
    brand_affinity: dict[str, float] = Field(default_factory=dict)
    history_tier_rank: float | None = None
    paid_price_low: float | None = None
    paid_price_high: float | None = None
    paid_range_by_category: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description="category -> (p10, p90) of unit prices paid in it"
    )
    usual_tier: str | None = Field(None, description="the tier most of the user's recent spend falls in")
    # value signals (from valuation when available, else from history)
    value_score: float = 50.0
    price_sensitivity: float = 0.5
    segment: str | None = None
    likely_categories: list[str] = Field(default_factory=list)
    value_source: str = "none"

    @property
    def premiumness(self) -> float:
        return min(1.0, max(0.0, self.value_score / 100.0))
