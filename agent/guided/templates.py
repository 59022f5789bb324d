"""Bilingual reply templates: the whole reply when there is no LLM, and the factual body (product lists, order
lines, score reasons) under the LLM's short lead-in when there is one. Only tool outputs are ever rendered."""

from __future__ import annotations

import re
from typing import Any

from agent.events import ProductCard
from domain.i18n import detect_language, money, t

_DATA_TAG_RE = re.compile(r"</?data>")


def plain(text: str | None) -> str:
    """Tool text for display: drop the <data> markers (the content is already neutralised)."""
    return _DATA_TAG_RE.sub("", text or "").strip()


def amount(value: float | None) -> str:
    """A budget the shopper named: whole yuan stay whole (¥500), anything else to the cent."""
    if value is None:
        return ""
    return f"¥{value:,.0f}" if float(value).is_integer() else f"¥{value:,.2f}"


def budget_text(lang: str, lo: float | None, hi: float | None) -> str:
    if lo is None and hi is None:
        return ""
    if lang == "zh":
        if lo is not None and hi is not None:
            return f"（{amount(lo)}–{amount(hi)}）"
        return f"（{amount(hi)}以内）" if hi is not None else f"（{amount(lo)}以上）"
    if lo is not None and hi is not None:
        return f" between {amount(lo)} and {amount(hi)}"
    return f" within {amount(hi)}" if hi is not None else f" above {amount(lo)}"


def card_of(item: dict[str, Any]) -> ProductCard:
    return ProductCard(
        product_id=item["product_id"],
        title=plain(item.get("title")),
        price=float(item.get("price") or 0.0),
        list_price=item.get("list_price"),
        on_promotion=bool(item.get("on_promotion")),
        discount_pct=float(item.get("discount_pct") or 0.0),
        rating=float(item.get("rating") or 0.0),
        brand=plain(item.get("brand")),
        category=item.get("category") or "",
        reason=plain(item.get("reason")),
    )


def product_line(lang: str, index: int, card: ProductCard) -> str:
    promo = ""
    if card.on_promotion and card.discount_pct > 0:
        pct = round(card.discount_pct * 100)
        promo = f"（{pct}%折扣）" if lang == "zh" else f" ({pct}% off)"
    rating = f" ★{card.rating:.1f}" if card.rating else ""
    reason = f" · {card.reason}" if card.reason else ""
    return f"{index}. {card.title} — {money(card.price)}{promo}{rating}{reason}"


# The closed list of reasons the LLM may pick for its highlighted product; code checks each against the facts
# and renders only the true ones.
REASON_CODES = ("lowest_price", "best_rated", "on_promotion", "within_budget", "highly_rated")


def true_reasons(
    card: ProductCard, shown: list[ProductCard], codes: list[str], budget_max: float | None
) -> list[str]:
    facts = {
        "lowest_price": len(shown) > 1 and card.price <= min(c.price for c in shown),
        "best_rated": len(shown) > 1 and card.rating > 0 and card.rating >= max(c.rating for c in shown),
        "on_promotion": card.on_promotion and card.discount_pct > 0,
        "within_budget": budget_max is not None and card.price <= budget_max,
        "highly_rated": card.rating >= 4.5,
    }
    return [code for code in dict.fromkeys(codes) if facts.get(code)]


def highlight(
    lang: str, card: ProductCard, shown: list[ProductCard], codes: list[str], budget_max: float | None
) -> str:
    """The highlighted product in one sentence, with its exact price and only the reasons the facts back."""
    zh = lang == "zh"
    words = {
        "lowest_price": ("the lowest price here", "价格最低"),
        "best_rated": (f"the best rated here (★{card.rating:.1f})", f"评分最高（★{card.rating:.1f}）"),
        "on_promotion": (f"{round(card.discount_pct * 100)}% off now", f"正在促销，立减{round(card.discount_pct * 100)}%"),
        "within_budget": (f"within your {amount(budget_max)} budget", f"在您的{amount(budget_max)}预算内"),
        "highly_rated": (f"rated ★{card.rating:.1f}", f"评分★{card.rating:.1f}"),
    }  # fmt: skip
    reasons = [words[c][1 if zh else 0] for c in true_reasons(card, shown, codes, budget_max)]
    if zh:
        return f"首先推荐{card.title}（{money(card.price)}）" + (
            f"：{'，'.join(reasons)}。" if reasons else "。"
        )
    return f"First pick: {card.title} ({money(card.price)})" + (
        f": {', '.join(reasons)}." if reasons else "."
    )


def list_header(lang: str, n: int, category: str | None, lo: float | None, hi: float | None) -> str:
    budget = budget_text(lang, lo, hi)
    if n == 1 and lang != "zh":
        return f"Here is one pick for you{budget}:"
    if category:
        return t("list_header_cat", lang, n=n, category=category, budget=budget)
    return t("list_header", lang, n=n, budget=budget)


def compare_body(lang: str, output: dict[str, Any]) -> str:
    cards = [card_of(p) for p in output.get("products", [])]
    lines = [product_line(lang, i, c) for i, c in enumerate(cards, 1)]
    facts = [plain(s) for s in output.get("summary", [])]
    return "\n".join(lines + facts)


def details_body(lang: str, output: dict[str, Any]) -> str:
    card = card_of(output["product"])
    stock = output.get("stock", 0)
    if lang == "zh":
        stock_text = f"有货（{stock}件）" if stock else "暂时缺货"
        head = f"{card.title}（{card.brand}）— {money(card.price)}，评分★{card.rating:.1f}，{stock_text}。"
    else:
        stock_text = f"in stock ({stock})" if stock else "out of stock"
        head = f"{card.title} ({card.brand}) — {money(card.price)}, rated ★{card.rating:.1f}, {stock_text}."
    description = plain(output.get("description"))
    return head + (f"\n{description}" if description else "")


def orders_body(lang: str, output: dict[str, Any]) -> str:
    lines = []
    for order in output.get("orders", []):
        items = (
            "、".join(plain(i["title"]) for i in order.get("items", [])[:3])
            if lang == "zh"
            else ", ".join(plain(i["title"]) for i in order.get("items", [])[:3])
        )
        if lang == "zh":
            lines.append(
                f"订单 {order['order_id']}（{order['date']}）：{order['status_text']}，合计{money(order['total'])}；{items}"
            )
        else:
            lines.append(
                f"Order {order['order_id']} ({order['date']}): {order['status_text']}, total {money(order['total'])}; {items}"
            )
    if not lines:
        return plain(output.get("message")) or t("not_found", lang)
    return "\n".join(lines)


def history_body(lang: str, output: dict[str, Any]) -> str:
    n, spend = output.get("n_orders", 0), output.get("total_spend", 0.0)
    head = (
        f"您共有{n}笔订单，累计消费{money(spend)}。最近购买："
        if lang == "zh"
        else f"You have {n} orders, {money(spend)} in total. Recently bought:"
    )
    items = []
    for order in output.get("recent_orders", [])[:3]:
        for item in order.get("items", [])[:2]:
            items.append(
                f"- {plain(item['title'])}（{order['date']}）"
                if lang == "zh"
                else f"- {plain(item['title'])} ({order['date']})"
            )
    return "\n".join([head, *items]) if items else head


SEGMENT_NAMES = {
    "vip": ("VIP", "高价值（VIP）"), "loyal": ("loyal", "忠诚客户"), "promising": ("promising/new", "潜力/新客"),
    "price_sensitive": ("price-sensitive", "价格敏感"), "at_risk": ("at risk", "有流失风险"), "lapsed": ("lapsed", "已流失"),
}  # fmt: skip


def value_body(lang: str, output: dict[str, Any]) -> str:
    segment = SEGMENT_NAMES.get(output.get("segment", ""), (output.get("segment", ""),) * 2)
    reasons = [plain(r["label"]) for r in output.get("top_reasons", [])[:4]]
    uid, score = output["user_id"], output["score"]
    if lang == "zh":
        head = f"用户 {uid} 的价值评分为 {score:.0f}/100，分群：{segment[1]}；流失风险 {output.get('churn_risk', 0):.0%}。"
        body = "主要原因：" + "；".join(reasons) if reasons else ""
    else:
        head = f"User {uid} scores {score:.0f}/100, segment: {segment[0]}; churn risk {output.get('churn_risk', 0):.0%}."
        body = "Main reasons: " + "; ".join(reasons) if reasons else ""
    explanation = plain(output.get("explanation"))
    if explanation and _language_of(explanation) != lang:
        explanation = (
            ""  # the valuation's explanation may be in the other language: the figures above suffice
        )
    return "\n".join(x for x in (head, body, explanation) if x)


def _language_of(text: str) -> str:
    return detect_language(text, default="en")
