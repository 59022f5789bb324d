"""HTML fragments shared by the shopper chat, the widget and the staff console: product cards, details, value card.

Everything a shopper or the catalog wrote is escaped here; the fragments are safe to drop into a page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from html import escape

from agent.events import ProductCard
from domain.i18n import Language, category_label, money, segment_label, t
from domain.models import Product, ValueAssessment
from valuation.explain import template_explanation

# Category slug → a glyph for the image placeholder (the demo catalog has no photos).
CATEGORY_GLYPHS: dict[str, str] = {
    "running": "👟",
    "跑步": "👟",
    "shoe": "👟",
    "headphone": "🎧",
    "耳机": "🎧",
    "coffee": "☕",
    "咖啡": "☕",
    "kitchen": "🍳",
    "厨房": "🍳",
    "smartphone": "📱",
    "手机配件": "🔌",
    "phone-accessor": "🔌",
    "手机": "📱",
    "laptop": "💻",
    "笔记本": "💻",
    "camera": "📷",
    "相机": "📷",
    "watch": "⌚",
    "手表": "⌚",
    "book": "📚",
    "图书": "📚",
    "toy": "🧸",
    "玩具": "🧸",
    "makeup": "💄",
    "彩妆": "💄",
    "skincare": "🧴",
    "护肤": "🧴",
    "fragrance": "🌸",
    "香水": "🌸",
    "handbag": "👜",
    "箱包": "👜",
    "tea": "🍵",
    "茶": "🍵",
    "snack": "🍪",
    "零食": "🍪",
    "wine": "🍷",
    "酒": "🍷",
    "furniture": "🛋️",
    "家具": "🛋️",
    "cleaning": "🧹",
    "清洁": "🧹",
    "fitness": "🏋️",
    "健身": "🏋️",
    "outdoor": "⛺",
    "户外": "⛺",
    "baby": "🍼",
    "母婴": "🍼",
    "pet": "🐾",
    "宠物": "🐾",
    "gaming": "🎮",
    "游戏": "🎮",
}

CARD_CSS = """
.sg-cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;margin:4px 0}
.sg-card{position:relative;display:flex;flex-direction:column;border:1px solid #e5e7eb;border-radius:12px;
  background:#fff;overflow:hidden;cursor:pointer;transition:box-shadow .15s,transform .15s;text-align:left;
  color:#111827;font:inherit;padding:0}
.sg-card:hover{box-shadow:0 6px 18px rgba(17,24,39,.12);transform:translateY(-2px)}
.sg-img{height:96px;display:flex;align-items:center;justify-content:center;font-size:42px}
.sg-body{padding:8px 10px 10px;display:flex;flex-direction:column;gap:4px}
.sg-title{font-weight:600;font-size:14px;line-height:1.3;display:-webkit-box;-webkit-line-clamp:2;
  -webkit-box-orient:vertical;overflow:hidden}
.sg-brand{font-size:12px;color:#6b7280}
.sg-price{font-size:16px;font-weight:700;color:#dc2626}
.sg-list{font-size:12px;color:#9ca3af;text-decoration:line-through;margin-left:6px;font-weight:400}
.sg-badge{position:absolute;top:8px;left:8px;background:#dc2626;color:#fff;font-size:11px;font-weight:700;
  padding:2px 7px;border-radius:999px}
.sg-rating{font-size:12px;color:#b45309}
.sg-reason{font-size:12px;color:#374151;background:#f3f4f6;border-radius:8px;padding:4px 6px}
.sg-empty{color:#6b7280;font-size:14px;padding:8px 0}
.sg-details{border:1px solid #e5e7eb;border-radius:12px;padding:12px 14px;background:#fff;color:#111827}
.sg-details h3{margin:0 0 6px;font-size:17px}
.sg-details .sg-meta{color:#6b7280;font-size:13px;margin-bottom:8px}
.sg-details p{margin:6px 0;font-size:14px;line-height:1.5}
.sg-vcard{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:10px}
.sg-metric{border:1px solid #e5e7eb;border-radius:12px;padding:10px 12px;background:#fff;color:#111827}
.sg-metric .sg-k{font-size:12px;color:#6b7280}
.sg-metric .sg-v{font-size:22px;font-weight:700;margin-top:2px}
.sg-seg{display:inline-block;padding:2px 10px;border-radius:999px;font-size:13px;font-weight:600;color:#fff}
.sg-note{font-size:13px;color:#374151;margin-top:8px;line-height:1.5}
.sg-error{border:1px solid #fecaca;background:#fef2f2;color:#991b1b;border-radius:10px;padding:10px 12px}
@media (max-width:480px){.sg-cards{grid-template-columns:repeat(2,minmax(0,1fr));gap:8px}
  .sg-img{height:72px;font-size:34px}.sg-title{font-size:13px}}
"""

SEGMENT_COLORS: dict[str, str] = {
    "vip": "#7c3aed",
    "loyal": "#2563eb",
    "promising": "#059669",
    "price_sensitive": "#d97706",
    "at_risk": "#dc2626",
    "lapsed": "#6b7280",
}


def placeholder(category: str, seed: str) -> tuple[str, str]:
    """A glyph and a soft background colour that stand in for a product photo."""
    slug = category.lower()
    glyph = next((g for key, g in CATEGORY_GLYPHS.items() if key in slug), "🛍️")
    hue = int(hashlib.sha1((glyph if glyph != "🛍️" else category or seed).encode()).hexdigest()[:4], 16) % 360
    return glyph, f"hsl({hue} 70% 93%)"


def product_card(card: ProductCard, lang: Language) -> str:
    glyph, background = placeholder(card.category, card.product_id)
    badge = ""
    if card.on_promotion:
        pct = f" -{card.discount_pct * 100:.0f}%" if card.discount_pct > 0 else ""
        badge = f'<span class="sg-badge">{escape(t("on_promotion", lang))}{pct}</span>'
    list_price = ""
    if card.list_price and card.list_price > card.price + 0.005:
        list_price = f'<span class="sg-list">{escape(money(card.list_price))}</span>'
    rating = f'<div class="sg-rating">★ {card.rating:.1f}</div>' if card.rating else ""
    reason = f'<div class="sg-reason">{escape(card.reason)}</div>' if card.reason else ""
    brand = f'<div class="sg-brand">{escape(card.brand)}</div>' if card.brand else ""
    return (
        f'<button type="button" class="sg-card" data-pid="{escape(card.product_id)}" '
        f'title="{escape(t("details", lang))}">{badge}'
        f'<div class="sg-img" style="background:{background}" aria-hidden="true">{glyph}</div>'
        f'<div class="sg-body"><div class="sg-title">{escape(card.title)}</div>{brand}'
        f'<div class="sg-price">{escape(money(card.price))}{list_price}</div>{rating}{reason}</div></button>'
    )


def product_cards(cards: Iterable[ProductCard], lang: Language) -> str:
    items = [product_card(card, lang) for card in cards]
    if not items:
        return f'<div class="sg-empty">{escape(t("no_products", lang))}</div>'
    return f'<div class="sg-cards">{"".join(items)}</div>'


def product_details(product: Product | None, lang: Language) -> str:
    """The details panel for one catalog product."""
    if product is None:
        return f'<div class="sg-details">{escape(t("unknown_product", lang))}</div>'
    title = product.title(lang)
    description = product.description(lang)
    category = (product.category_zh if lang == "zh" else "") or product.category
    stock = t("in_stock", lang) if product.in_stock else t("out_of_stock", lang)
    facts = []
    if product.list_price and product.list_price > product.price + 0.005:
        facts.append(f"{escape(t('list_price', lang))} <s>{escape(money(product.list_price))}</s>")
    if product.on_promotion:
        pct = product.discount_pct * 100
        facts.append(f'<b style="color:#dc2626">{escape(t("on_promotion", lang))} -{pct:.0f}%</b>')
    facts.append(f"★ {product.rating:.1f} ({product.rating_count})")
    facts.append(escape(stock))
    return (
        f'<div class="sg-details" data-pid="{escape(product.product_id)}"><h3>{escape(title)}</h3>'
        f'<div class="sg-meta">{escape(t("brand", lang))}: {escape(product.brand or "–")} · '
        f"{escape(t('category', lang))}: {escape(category)} · SKU {escape(product.sku or '-')}</div>"
        f'<div class="sg-price">{escape(money(product.price))}</div>'
        f'<div class="sg-meta">{" · ".join(facts)}</div>'
        f"<p>{escape(description)}</p></div>"
    )


def segment_pill(segment: str, lang: Language) -> str:
    color = SEGMENT_COLORS.get(segment, "#374151")
    return f'<span class="sg-seg" style="background:{color}">{escape(segment_label(segment, lang))}</span>'


def value_card(
    assessment: ValueAssessment, lang: Language, category_names: Mapping[str, str] | None = None
) -> str:
    """The staff value card for a ``ValueAssessment``, every word in the console's language (the stored
    explanation is in the customer's language, so the card words its own from the same numbers)."""
    names = category_names or {}

    def metric(key: str, value: str) -> str:
        return f'<div class="sg-metric"><div class="sg-k">{escape(t(key, lang))}</div><div class="sg-v">{value}</div></div>'

    segment = str(getattr(assessment.segment, "value", assessment.segment))
    metrics = [
        metric("score", f"{assessment.score:.0f}<span style='font-size:13px;color:#6b7280'> / 100</span>"),
        metric("segment", segment_pill(segment, lang)),
        metric("predicted_spend", escape(f"¥{assessment.predicted_spend_12m:,.0f}")),
        metric("p_alive", f"{assessment.p_alive:.0%}"),
        metric("price_sensitivity", f"{assessment.price_sensitivity:.0%}"),
        metric("churn_risk", f"{assessment.churn_risk:.0%}"),
        metric("next_purchase", f"{assessment.next_purchase_prob_30d:.0%}"),
    ]
    notes = []
    if assessment.likely_categories:
        cats = ", ".join(category_label(c, lang, names.get(c)) for c in assessment.likely_categories[:5])
        notes.append(f"<b>{escape(t('likely_categories', lang))}:</b> {escape(cats)}")
    notes.append(
        escape(
            template_explanation(
                lang, assessment.score, assessment.segment, assessment.predicted_spend_12m, assessment.reasons
            )
        )
    )
    note_html = "".join(f'<div class="sg-note">{n}</div>' for n in notes)
    return f'<div class="sg-vcard">{"".join(metrics)}</div>{note_html}'


def error_box(message: str) -> str:
    return f'<div class="sg-error" role="alert">{escape(message)}</div>'
