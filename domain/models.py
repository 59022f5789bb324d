"""Pydantic v2 types of the shop: the one vocabulary shared by ingestion, store, index, valuation, tools and UI.

PII fields are marked with ``json_schema_extra={"pii": True}``; ``PII_FIELDS`` lists them so that masking,
encryption and exports never have to guess which columns are personal data.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

Language = Literal["zh", "en"]


def in_language(language: Language, text_en: str | None, text_zh: str | None) -> str:
    """The text in ``language``, else the other one: a shop with a one-language catalog still shows something."""
    preferred, other = (text_zh, text_en) if language == "zh" else (text_en, text_zh)
    return (preferred or "").strip() or (other or "").strip()


def _pii(description: str) -> Any:
    return Field(default=None, description=description, json_schema_extra={"pii": True})


class ShopModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class PriceTier(StrEnum):
    budget = "budget"
    mid = "mid"
    premium = "premium"
    luxury = "luxury"


class OrderStatus(StrEnum):
    placed = "placed"
    paid = "paid"
    shipped = "shipped"
    delivered = "delivered"
    returned = "returned"
    cancelled = "cancelled"

    @property
    def counts_as_spend(self) -> bool:
        return self not in NOT_SPEND_STATUSES


# The one definition of spend: a cancelled order was never paid and a returned one was refunded, so neither counts
# as a purchase (valuation features and labels, marketing revenue, recommendation popularity and signals, tools).
NOT_SPEND_STATUSES: frozenset[str] = frozenset({OrderStatus.returned.value, OrderStatus.cancelled.value})


class EventKind(StrEnum):
    view = "view"
    click = "click"
    search = "search"
    add_to_cart = "add_to_cart"
    purchase = "purchase"


class Segment(StrEnum):
    vip = "vip"  # premium / VIP: top predicted value
    loyal = "loyal"
    promising = "promising"  # promising / new
    price_sensitive = "price_sensitive"
    at_risk = "at_risk"
    lapsed = "lapsed"


class User(ShopModel):
    user_id: str = Field(min_length=1, max_length=64)
    signup_at: datetime
    language: Language = "zh"
    city: str | None = Field(default=None, max_length=64)
    # --- PII: masked before any prompt or log line, encrypted at rest ---
    name: str | None = _pii("full name")
    phone: str | None = _pii("phone number")
    email: str | None = _pii("email address")
    address: str | None = _pii("street address")


PII_FIELDS: tuple[str, ...] = tuple(
    name
    for name, f in User.model_fields.items()
    if (f.json_schema_extra or {}).get("pii")  # type: ignore[union-attr]
)


class Product(ShopModel):
    product_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(default="", max_length=64, description="model number, e.g. 'XR-550'")
    # One title is enough: most shops have a one-language catalog. The other language stays "" (never None).
    title_en: str = Field(default="", max_length=300)
    title_zh: str = Field(default="", max_length=300)
    description_en: str = Field(default="", max_length=4000)
    description_zh: str = Field(default="", max_length=4000)
    brand: str = Field(default="", max_length=100, description="'' when the shop's catalog names none")
    category: str = Field(min_length=1, max_length=64, description="category slug, e.g. 'running-shoes'")
    category_zh: str = Field(default="", max_length=64)
    price: float = Field(gt=0, description="current selling price, CNY")
    list_price: float | None = Field(default=None, gt=0)
    # None when the source has no tier: ingestion derives it from price quantiles within the category
    # (domain/ingest/tiers.py) before anything else reads the product.
    price_tier: PriceTier | None = None
    on_promotion: bool = False
    discount_pct: float = Field(default=0.0, ge=0, lt=1)
    rating: float = Field(default=0.0, ge=0, le=5)
    rating_count: int = Field(default=0, ge=0)
    stock: int = Field(default=0, ge=0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def in_stock(self) -> bool:
        return self.stock > 0

    @model_validator(mode="after")
    def _has_a_title(self) -> Product:
        if not (self.title_en or self.title_zh):
            raise ValueError("a product needs a title in English or Chinese (title_en or title_zh)")
        return self

    def title(self, language: Language) -> str:
        return in_language(language, self.title_en, self.title_zh)

    def description(self, language: Language) -> str:
        return in_language(language, self.description_en, self.description_zh)


class OrderLine(ShopModel):
    order_id: str = Field(min_length=1, max_length=64)
    line_no: int = Field(ge=1)
    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000)
    unit_price: float = Field(ge=0)
    discount: float = Field(default=0.0, ge=0, description="money off this line")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount(self) -> float:
        return round(self.quantity * self.unit_price - self.discount, 2)


class Order(ShopModel):
    order_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=64)
    created_at: datetime
    status: OrderStatus = OrderStatus.paid
    lines: list[OrderLine] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def total(self) -> float:
        return round(sum(line.amount for line in self.lines), 2)


class Review(ShopModel):
    review_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=64)
    product_id: str = Field(min_length=1, max_length=64)
    order_id: str | None = None
    rating: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=4000)
    language: Language = "zh"
    created_at: datetime


class BehaviorEvent(ShopModel):
    event_id: str = Field(min_length=1, max_length=64)
    user_id: str = Field(min_length=1, max_length=64)
    kind: EventKind
    ts: datetime
    session_id: str = Field(default="", max_length=64)
    product_id: str | None = None
    query: str | None = Field(default=None, max_length=500)

    @field_validator("query")
    @classmethod
    def _search_has_query(cls, v: str | None) -> str | None:
        return v or None


class Reason(ShopModel):
    """One signed contribution to a user's score, in the model's own units (log-spend), plus readable labels."""

    feature: str
    value: float | None = None
    contribution: float
    label_en: str
    label_zh: str


class UserProfile(ShopModel):
    """What the text (reviews, searches, browsing) says about a user; built by the LLM or by rules."""

    interests: list[str] = Field(default_factory=list, max_length=8)
    price_sensitivity: float = Field(default=0.5, ge=0, le=1)
    brand_affinity: list[str] = Field(default_factory=list, max_length=5)
    satisfaction: float = Field(default=0.5, ge=0, le=1)
    intent: Literal["browsing", "comparing", "ready_to_buy", "gift", "support", "unknown"] = "unknown"
    source: Literal["llm", "rules"] = "rules"


class ValueAssessment(ShopModel):
    user_id: str
    as_of: date
    score: float = Field(ge=0, le=100, description="calibrated percentile of predicted 12-month value")
    segment: Segment
    predicted_spend_12m: float = Field(ge=0)
    predicted_purchases_12m: float = Field(ge=0)
    p_alive: float = Field(ge=0, le=1)
    price_sensitivity: float = Field(ge=0, le=1)
    churn_risk: float = Field(default=0.0, ge=0, le=1)
    next_purchase_prob_30d: float = Field(default=0.0, ge=0, le=1)
    likely_categories: list[str] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    explanation: str = ""
    profile: UserProfile | None = None
    model_version: str = ""
