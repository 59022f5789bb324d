"""Tool: hybrid (dense + BM25) product search with price and category filters; in-stock items only by default."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Language
from domain.store.repository import products_by_id
from tools.context import ShopContext
from tools.schemas import ProductBrief


class ProductSearchResult(BaseModel):
    query: str
    filters: dict[str, float | str] = Field(default_factory=dict)
    products: list[ProductBrief] = Field(default_factory=list)


def validate_price_range(min_price: float | None, max_price: float | None) -> None:
    for name, value in (("min_price", min_price), ("max_price", max_price)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise ValueError(f"min_price ({min_price}) is above max_price ({max_price})")


def search_products(
    ctx: ShopContext,
    query: str,
    *,
    k: int = 5,
    min_price: float | None = None,
    max_price: float | None = None,
    category: str | None = None,
    in_stock_only: bool = True,
    language: Language = "zh",
) -> ProductSearchResult:
    """Products matching ``query`` (any language), best first, within the price range and category."""
    query = (query or "").strip()
    if not query:
        raise ValueError("query must not be empty")
    validate_price_range(min_price, max_price)
    k = max(1, min(int(k), 20))
    hits = ctx.index.search_products(
        query[:500],
        k=k,
        min_price=min_price,
        max_price=max_price,
        category=category or None,
        in_stock_only=in_stock_only,
        mode="hybrid",
    )
    catalog = products_by_id(ctx.engine, [h.product_id for h in hits])
    products = [ProductBrief.of(catalog[h.product_id], language) for h in hits if h.product_id in catalog]
    if in_stock_only:  # the index may lag the store's stock: re-check against the store
        products = [p for p in products if p.in_stock]
    filters: dict[str, float | str] = {}
    if min_price is not None:
        filters["min_price"] = min_price
    if max_price is not None:
        filters["max_price"] = max_price
    if category:
        filters["category"] = category
    return ProductSearchResult(query=query[:200], filters=filters, products=products)
