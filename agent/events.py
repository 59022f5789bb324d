"""The stream a chat turn produces: the one contract between the agent and every UI (web chat, widget, API, CLI)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from domain.models import Language


class ProductCard(BaseModel):
    product_id: str
    title: str
    price: float
    list_price: float | None = None
    on_promotion: bool = False
    discount_pct: float = 0.0
    rating: float = 0.0
    brand: str = ""
    category: str = ""
    reason: str = ""


class ChatEvent(BaseModel):
    """One step of a turn. ``token`` carries reply text deltas; ``tool_start``/``tool_end`` the tool steps;
    ``products`` the product cards the reply is about; ``done`` closes the turn with the full reply."""

    type: Literal["token", "tool_start", "tool_end", "products", "done", "error"]
    text: str = ""
    tool: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    output: str | None = None
    products: list[ProductCard] = Field(default_factory=list)
    language: Language | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
