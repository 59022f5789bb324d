"""Tool: side-by-side comparison of 2–5 products with the facts that decide (price, discount, rating, stock)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.models import Language
from domain.store.repository import products_by_id
from tools.context import ShopContext
from tools.product_details import ProductNotFound
from tools.schemas import ProductBrief


class Comparison(BaseModel):
    products: list[ProductBrief]
    cheapest: str = Field(description="product_id")
    best_rated: str = Field(
        description="product_id (Bayesian-smoothed rating, so 5★ from 2 votes does not win)"
    )
    biggest_discount: str | None = None
    same_category: bool
    summary: list[str] = Field(default_factory=list, description="facts in the reply language")


def compare_products(ctx: ShopContext, product_ids: list[str], *, language: Language = "zh") -> Comparison:
    """Compare catalog products by id (2–5 distinct ids; raises ProductNotFound/ValueError on bad input)."""
    ids = list(dict.fromkeys(p.strip() for p in product_ids if p and p.strip()))
    if not 2 <= len(ids) <= 5:
        raise ValueError("compare needs 2 to 5 distinct product ids")
    catalog = products_by_id(ctx.engine, ids)
    missing = [p for p in ids if p not in catalog]
    if missing:
        raise ProductNotFound(f"unknown product ids: {', '.join(missing)}")
    prods = [catalog[p] for p in ids]
    cheapest = min(prods, key=lambda p: p.price)
    best = max(prods, key=lambda p: (p.rating * p.rating_count + 4.0 * 20) / (p.rating_count + 20))
    promo = [p for p in prods if p.on_promotion and p.discount_pct > 0]
    biggest = max(promo, key=lambda p: p.discount_pct) if promo else None

    def name(p):  # type: ignore[no-untyped-def]
        return ProductBrief.of(p, language).title

    if language == "zh":
        summary = [
            f"最便宜：{name(cheapest)}（¥{cheapest.price:,.2f}）",
            f"评分最高：{name(best)}（{best.rating:.1f}分，{best.rating_count}条评价）",
        ]
        if biggest:
            summary.append(f"折扣最大：{name(biggest)}（立减{round(biggest.discount_pct * 100)}%）")
        summary += [f"缺货：{name(p)}" for p in prods if not p.in_stock]
    else:
        summary = [
            f"Cheapest: {name(cheapest)} (¥{cheapest.price:,.2f})",
            f"Best rated: {name(best)} ({best.rating:.1f}★, {best.rating_count} reviews)",
        ]
        if biggest:
            summary.append(f"Biggest discount: {name(biggest)} ({round(biggest.discount_pct * 100)}% off)")
        summary += [f"Out of stock: {name(p)}" for p in prods if not p.in_stock]
    return Comparison(
        products=[ProductBrief.of(p, language) for p in prods],
        cheapest=cheapest.product_id,
        best_rated=best.product_id,
        biggest_discount=biggest.product_id if biggest else None,
        same_category=len({p.category for p in prods}) == 1,
        summary=summary,
    )
