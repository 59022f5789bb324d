"""Tool: what a user likes and how they buy — interests, brands, price sensitivity, usual price range."""

from __future__ import annotations

import logging

from pydantic import BaseModel, Field

from domain.models import Language
from recommend.models import TIER_RANK
from recommend.recommender import get_recommender
from tools.context import ShopContext
from tools.sanitize import neutralise

log = logging.getLogger(__name__)
_TIER_NAMES = {v: k for k, v in TIER_RANK.items()}


class UserProfileSummary(BaseModel):
    user_id: str
    segment: str | None = None
    value_score: float | None = None
    price_sensitivity: float
    interests: list[str] = Field(default_factory=list)
    favourite_categories: list[str] = Field(default_factory=list)
    brand_affinity: list[str] = Field(default_factory=list)
    usual_price_tier: str | None = None
    usual_price_range: tuple[float, float] | None = None
    likely_next_categories: list[str] = Field(default_factory=list)
    intent: str = "unknown"
    satisfaction: float | None = None
    source: str = Field("rules", description="valuation+llm, valuation+rules, or history only")


def get_user_profile(
    ctx: ShopContext, user_id: str | None = None, *, with_llm: bool = False, language: Language = "zh"
) -> UserProfileSummary:
    """The subject's shopping profile: valuation's profile merged with price facts from their purchases."""
    uid = ctx.subject(user_id, "get_user_profile")
    sig = get_recommender(ctx.settings).signals(uid, use_value=False)
    assessment = None
    try:
        assessment = ctx.values.assess(uid, with_llm=with_llm)
    except Exception as exc:  # profile still useful from history alone
        log.warning("valuation unavailable for profile of %s: %s", uid, exc)
    tier = _TIER_NAMES[round(sig.history_tier_rank)] if sig.history_tier_rank is not None else None
    price_range = (
        (round(sig.paid_price_low, 2), round(sig.paid_price_high, 2))
        if sig.paid_price_low is not None and sig.paid_price_high is not None
        else None
    )
    out = UserProfileSummary(
        user_id=uid,
        price_sensitivity=round(sig.price_sensitivity, 3),
        favourite_categories=list(sig.category_affinity)[:5],
        brand_affinity=[neutralise(b, 40) for b in sig.brand_affinity][:5],
        usual_price_tier=tier,
        usual_price_range=price_range,
        source="history",
    )
    if assessment is not None:
        out.segment = assessment.segment.value
        out.value_score = round(assessment.score, 1)
        out.price_sensitivity = round(assessment.price_sensitivity, 3)
        out.likely_next_categories = assessment.likely_categories[:5]
        profile = assessment.profile
        if profile is not None:
            out.interests = [neutralise(i, 40) for i in profile.interests][:8]
            if profile.brand_affinity:
                out.brand_affinity = [neutralise(b, 40) for b in profile.brand_affinity][:5]
            out.intent = profile.intent
            out.satisfaction = round(profile.satisfaction, 3)
            out.source = f"valuation+{profile.source}"
        else:
            out.source = "valuation"
    return out
