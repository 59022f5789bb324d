"""HTML fragments of the UI: escaping, promotion badges, placeholders, value card, bilingual text."""

from __future__ import annotations

from datetime import date

from agent.events import ProductCard
from domain.i18n import TEXT, normalize_lang, t
from domain.models import Product, Reason, Segment, ValueAssessment
from ui.render import placeholder, product_card, product_cards, product_details, value_card


def card(**overrides: object) -> ProductCard:
    values: dict[str, object] = {
        "product_id": "p1",
        "title": "Trail shoe",
        "price": 399.0,
        "category": "running-shoes",
    }
    values.update(overrides)
    return ProductCard(**values)  # type: ignore[arg-type]


def test_catalog_and_reason_text_is_escaped() -> None:
    html = product_card(
        card(title="<script>alert(1)</script>", reason='"><img src=x onerror=alert(1)>'), "en"
    )
    assert "<script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_promotion_badge_and_struck_list_price() -> None:
    html = product_card(card(on_promotion=True, discount_pct=0.25, list_price=532.0), "en")
    assert "Deal -25%" in html and "sg-list" in html and "¥532" in html
    plain = product_card(card(list_price=399.0), "zh")
    assert "sg-badge" not in plain and "sg-list" not in plain  # no fake discount when list == price


def test_cards_grid_and_empty_state_follow_the_language() -> None:
    assert product_cards([], "zh").count(t("no_products", "zh")) == 1
    grid = product_cards([card(product_id="a"), card(product_id="b")], "en")
    assert grid.count('class="sg-card"') == 2 and 'data-pid="a"' in grid


def test_placeholder_glyph_is_the_same_for_a_category_in_both_languages() -> None:
    assert placeholder("running-shoes", "x")[0] == placeholder("跑步鞋", "y")[0] == "👟"
    assert placeholder("running-shoes", "x")[1] == placeholder("跑步鞋", "y")[1]  # same colour too
    assert placeholder("mystery", "x")[0] == "🛍️"


def test_product_details_picks_the_language_and_handles_unknown_products() -> None:
    row = Product(product_id="p1", title_en="Kettle", title_zh="电水壶", description_en="Boils.",
                  description_zh="烧水。", brand="Midea", category="kitchen", category_zh="厨房电器",
                  price=99.0, list_price=129.0, price_tier="mid", on_promotion=True, discount_pct=0.23,
                  rating=4.5, rating_count=12, stock=0, sku="MK-1")  # fmt: skip
    zh = product_details(row, "zh")
    assert "电水壶" in zh and "厨房电器" in zh and "缺货" in zh and "-23%" in zh
    assert "Kettle" in product_details(row, "en")
    assert t("unknown_product", "en") in product_details(None, "en")


def test_value_card_shows_every_metric() -> None:
    assessment = ValueAssessment(
        user_id="u1", as_of=date(2026, 6, 1), score=87.4, segment=Segment.vip, predicted_spend_12m=12345.0,
        predicted_purchases_12m=6, p_alive=0.91, price_sensitivity=0.2, churn_risk=0.1, next_purchase_prob_30d=0.4,
        likely_categories=["coffee"], reasons=[Reason(feature="f", contribution=0.3, label_en="a", label_zh="甲")],
    )  # fmt: skip
    html = value_card(assessment, "zh")
    for needle in ("87", "VIP / 高价值", "¥12,345", "91%", "20%", "10%", "40%", "coffee"):
        assert needle in html


def test_every_text_has_both_languages_and_locales_map() -> None:
    assert all(set(entry) == {"zh", "en"} and all(entry.values()) for entry in TEXT.values())
    assert (
        normalize_lang("zh-CN") == "zh"
        and normalize_lang("en-US,en;q=0.9") == "en"
        and normalize_lang(None) == "en"
    )
    assert t("message_too_long", "en", n=10).endswith("10 characters).")


def test_card_prices_are_exact_to_the_cent() -> None:
    html = product_card(card(price=109.65, list_price=2324.0, on_promotion=True, discount_pct=0.95), "zh")
    assert "¥109.65" in html and "¥2,324.00" in html and "¥110" not in html
