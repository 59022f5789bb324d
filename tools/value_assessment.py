"""Tool: the value assessment of a user (score, segment, predictions and the signed reasons behind it)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Language, ValueAssessment
from tools.context import ShopContext
from tools.sanitize import neutralise


class ReasonBrief(BaseModel):
    label: str
    contribution: float = Field(description="signed, in the model's own units (log-spend)")


class ValueSummary(BaseModel):
    user_id: str
    as_of: str
    score: float = Field(description="0-100 percentile of predicted 12-month value")
    segment: str
    predicted_spend_12m: float
    predicted_purchases_12m: float
    p_alive: float
    churn_risk: float
    next_purchase_prob_30d: float
    price_sensitivity: float
    likely_categories: list[str] = Field(default_factory=list)
    top_reasons: list[ReasonBrief] = Field(default_factory=list)
    explanation: str = ""
    model_version: str = ""

    @classmethod
    def of(cls, a: ValueAssessment, language: Language = "zh", n_reasons: int = 4) -> ValueSummary:
        reasons = sorted(a.reasons, key=lambda r: -abs(r.contribution))[:n_reasons]
        return cls(
            user_id=a.user_id,
            as_of=a.as_of.isoformat(),
            score=round(a.score, 1),
            segment=a.segment.value,
            predicted_spend_12m=round(a.predicted_spend_12m, 2),
            predicted_purchases_12m=round(a.predicted_purchases_12m, 2),
            p_alive=round(a.p_alive, 3),
            churn_risk=round(a.churn_risk, 3),
            next_purchase_prob_30d=round(a.next_purchase_prob_30d, 3),
            price_sensitivity=round(a.price_sensitivity, 3),
            likely_categories=a.likely_categories[:5],
            top_reasons=[
                ReasonBrief(
                    label=r.label_zh if language == "zh" else r.label_en,
                    contribution=round(r.contribution, 3),
                )
                for r in reasons
            ],
            explanation=neutralise(a.explanation, 500),
            model_version=a.model_version,
        )


def assess_user_value(
    ctx: ShopContext, user_id: str | None = None, *, with_llm: bool = False, language: Language = "zh"
) -> ValueSummary:
    """The subject's value score, segment, churn/next-purchase predictions and top signed reasons."""
    uid = ctx.subject(user_id, "assess_user_value")
    return ValueSummary.of(ctx.values.assess(uid, with_llm=with_llm), language)
