"""Compact pydantic outputs shared by the tools (the local model has a 4k-token context: keep them small).

Every product a tool returns carries its ``product_id`` so the agent's grounding check can verify each product
named in a reply. Free text written by shoppers or merchants is wrapped as ``<data>...</data>`` (tools/sanitize).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from domain.models import Language, Product, Review
from tools.sanitize import as_data, neutralise, quote_review


class ProductBrief(BaseModel):
    product_id: str
    title: str
    brand: str
    category: str
    price: float
    list_price: float | None = None
    price_tier: str
    on_promotion: bool = False
    discount_pct: float = 0.0
    rating: float = 0.0
    rating_count: int = 0
    in_stock: bool = True

    @classmethod
    def of(cls, product: Product, language: Language = "zh") -> ProductBrief:
        return cls(
            product_id=product.product_id,
            title=neutralise(product.title(language), 120),
            brand=neutralise(product.brand, 60),
            category=product.category_zh if language == "zh" and product.category_zh else product.category,
            price=round(product.price, 2),
            list_price=round(product.list_price, 2) if product.list_price else None,
            price_tier=product.price_tier.value,
            on_promotion=product.on_promotion,
            discount_pct=round(product.discount_pct, 3),
            rating=round(product.rating, 2),
            rating_count=product.rating_count,
            in_stock=product.in_stock,
        )


class ReviewSnippet(BaseModel):
    product_id: str
    rating: int
    text: str = Field(description="quoted review text, <data>-wrapped, PII masked")
    language: Language = "zh"
    date: str = ""

    @classmethod
    def of(cls, review: Review, max_chars: int = 200) -> ReviewSnippet:
        return cls(
            product_id=review.product_id,
            rating=review.rating,
            text=quote_review(review.text, max_chars),
            language=review.language,
            date=review.created_at.date().isoformat(),
        )


class ToolError(BaseModel):
    """What a tool returns to the LLM instead of raising (bad input, not found, not allowed)."""

    error: str
    code: Literal["not_found", "bad_request", "access_denied", "unavailable"] = "bad_request"


def data_text(text: str | None, max_chars: int = 240) -> str:
    return as_data(text, max_chars)
