"""Stage 3: a short, truthful reason per item, in English and Chinese.

Each reason states a fact that was checked here (the price really lies in the user's paid range, the discount is
the catalog's, the co-purchase anchor is an item the user bought), chosen among the signals that contributed most
to the item's score. At most two reasons per item.
"""

from __future__ import annotations

from recommend.candidates import Filters
from recommend.models import UserSignals
from recommend.rerank import Scored
from recommend.snapshot import CatalogSnapshot


def neutralise(text: str, n: int = 40) -> str:
    # Plain shortening only; the tools layer wraps and neutralises everything it hands to an LLM.
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _short(title: str, n: int = 40) -> str:
    return neutralise(title, n)


def _amount(value: float) -> str:
    return f"¥{value:,.0f}" if float(value).is_integer() else f"¥{value:,.2f}"


def need_label(category_en: str, category_zh: str, filters: Filters | None) -> tuple[str, str]:
    """The need a request expressed, as a card reason names it: "耳机 · ¥500 以内", "headphones · under ¥500"."""
    en, zh = category_en.replace("-", " "), category_zh or category_en.replace("-", " ")
    lo, hi = (filters.min_price, filters.max_price) if filters else (None, None)
    if lo is not None and hi is not None:
        return f"{en} · {_amount(lo)}–{_amount(hi)}", f"{zh} · {_amount(lo)}–{_amount(hi)}"
    if hi is not None:
        return f"{en} · under {_amount(hi)}", f"{zh} · {_amount(hi)} 以内"
    if lo is not None:
        return f"{en} · over {_amount(lo)}", f"{zh} · {_amount(lo)} 以上"
    return en, zh


def explain(
    item: Scored, snap: CatalogSnapshot, sig: UserSignals, query: str | None, filters: Filters | None = None
) -> tuple[str, str, list[str]]:
    product = snap.products[item.candidate.product_id]
    cand = item.candidate
    options: list[tuple[float, str, str, str]] = []  # (weight, code, en, zh)
    parts = item.parts

    # Only a strong hit is said to match the request (rank within the first ~10 retrieval hits).
    # The reason names the need (category and budget), never the shopper's whole message.
    if cand.signals.get("relevance", 0) >= 0.4 and "request" in cand.sources and query:
        en, zh = need_label(product.category, product.category_zh, filters)
        options.append((parts["relevance"], "matches_request", en, zh))
    elif parts.get("relevance", 0) > 0 and "recent_search" in cand.sources and sig.recent_queries:
        q = neutralise(sig.recent_queries[0], 30)
        options.append(
            (
                parts["relevance"],
                "matches_recent_search",
                f"related to your search “{q}”",
                f"与您搜索的「{q}」相关",
            )
        )
    anchor = cand.co_purchase_anchor
    if parts.get("co_purchase", 0) > 0 and anchor and anchor in snap.products:
        a = snap.products[anchor]
        if a.category == product.category:
            en, zh = (
                f"similar to {_short(a.title('en'))} you bought",
                f"与您买过的{_short(a.title('zh'))}相似",
            )
        else:
            en, zh = (
                f"often bought with {_short(a.title('en'))} you bought",
                f"常与您买过的{_short(a.title('zh'))}一起购买",
            )
        options.append((parts["co_purchase"], "co_purchase", en, zh))
    if parts.get("recently_viewed", 0) > 0:
        options.append(
            (parts["recently_viewed"], "recently_viewed", "you viewed it recently", "您最近浏览过")
        )
    if parts.get("category_affinity", 0) > 0:
        cat_zh = product.category_zh or product.category
        options.append(
            (
                parts["category_affinity"] * 0.8,
                "favourite_category",
                f"from a category you like ({product.category.replace('-', ' ')})",
                f"来自您常逛的品类（{cat_zh}）",
            )
        )
    if parts.get("brand_affinity", 0) > 0.2:
        brand = neutralise(product.brand, 30)
        options.append(
            (
                parts["brand_affinity"] * 0.7,
                "favourite_brand",
                f"a brand you like ({brand})",
                f"您喜欢的品牌（{brand}）",
            )
        )
    tier_names = {"budget": "budget", "mid": "mid-range", "premium": "premium", "luxury": "luxury"}
    tier_zh = {"budget": "平价", "mid": "中端", "premium": "高端", "luxury": "奢华"}
    cat_range = sig.paid_range_by_category.get(product.category)
    if (
        parts.get("tier_fit", 0) > 0
        and cat_range
        and cat_range[0] * 0.9 <= product.price <= cat_range[1] * 1.1
    ):
        lo, hi = cat_range
        span_en = f"¥{lo:,.0f}" if round(lo) == round(hi) else f"¥{lo:,.0f}–¥{hi:,.0f}"
        options.append(
            (
                parts["tier_fit"],
                "usual_price_range",
                f"in your usual price range for this category ({span_en})",
                f"在您此类商品的常买价位内（{span_en}）",
            )
        )
    elif parts.get("tier_fit", 0) > 0.5 * max(parts.values()) and sig.usual_tier == product.price_tier.value:
        tier = product.price_tier.value
        options.append(
            (
                parts["tier_fit"] * 0.8,
                "usual_price_tier",
                f"{tier_names[tier]}, the price level you usually buy",
                f"{tier_zh[tier]}价位，与您平时购买的一致",
            )
        )
    if product.on_promotion and product.discount_pct > 0:
        pct = round(product.discount_pct * 100)
        options.append(
            (
                max(parts.get("promotion", 0.0), 0.05),
                "on_promotion",
                f"on promotion: {pct}% off",
                f"促销中：立减{pct}%",
            )
        )
    if product.rating >= 4.5 and product.rating_count >= 10:
        options.append(
            (
                max(parts.get("quality", 0.0), 0.04),
                "highly_rated",
                f"highly rated: {product.rating:.1f}★ from {product.rating_count:,} reviews",
                f"好评：{product.rating:.1f}分（{product.rating_count}条评价）",
            )
        )
    if parts.get("trending", 0) > 0.05 and "trending" in cand.sources:
        options.append((parts["trending"], "trending", "trending now", "近期热销"))
    if not options or ("popular" in cand.sources and parts.get("popularity", 0) > 0.2):
        options.append((parts.get("popularity", 0.0) * 0.5, "popular", "popular with shoppers", "很受欢迎"))

    options.sort(key=lambda o: -o[0])
    chosen = options[:2]
    en = "; ".join(o[2] for o in chosen)
    zh = "；".join(o[3] for o in chosen)
    return en[:1].upper() + en[1:], zh, [o[1] for o in chosen]
