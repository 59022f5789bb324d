"""The guided lead-in: the model writes one opening sentence from a few worded facts behind a static prompt
prefix; code picks the highlighted product and the reasons that the facts back."""

from __future__ import annotations

import re

from agent.events import ProductCard
from agent.guided.prompts import reply_messages
from agent.guided.reply import highlight_reasons, lead_facts, pick_highlight
from agent.guided.templates import true_reasons


def _card(pid: str, brand: str, price: float, rating: float = 4.0, **extra: object) -> ProductCard:
    return ProductCard(product_id=pid, title=f"{brand} {pid} headphones", brand=brand, price=price,
                       rating=rating, category="headphones", **extra)  # fmt: skip


SHOWN = [
    _card("p1", "Bose", 2999.0, 4.6),
    _card("p2", "Sony", 2499.0, 4.8),
    _card("p3", "Edifier", 199.5, 4.1),
]


def _turn(text: str, lang: str = "en", **slots: object) -> dict:
    return {"intent": "recommend", "language": lang, "text": text, "slots": slots}


def test_the_highlight_is_the_named_brand_else_the_tools_top_ranked_product():
    # "Is the Sony headphone good for travel?" highlighted a Bose; a premium shopper got the cheapest item
    assert (
        pick_highlight(_turn("Is the Sony headphone good for travel?", brand="Sony"), SHOWN).product_id
        == "p2"
    )
    assert pick_highlight(_turn("推荐一款适合我的耳机", "zh"), SHOWN).product_id == "p1"


def test_reasons_follow_the_request_and_only_true_ones_are_kept():
    cheap = _turn("cheap headphones", price_sort="low_first")
    assert true_reasons(SHOWN[2], SHOWN, highlight_reasons(cheap), None)[:1] == ["lowest_price"]
    assert true_reasons(SHOWN[1], SHOWN, highlight_reasons(_turn("headphones")), None) == [
        "best_rated",
        "highly_rated",
    ]
    assert "lowest_price" not in true_reasons(SHOWN[0], SHOWN, highlight_reasons(cheap), None)


def test_the_facts_name_no_product_price_or_number_but_the_count_and_order():
    facts = lead_facts(_turn("cheap headphones under 3000", price_sort="low_first", budget_max=3000.0), SHOWN)
    assert facts == "Shown: 3 × headphones, cheapest first, all within the budget"
    zh = lead_facts(_turn("推荐耳机", "zh"), [c.model_copy(update={"category": "耳机"}) for c in SHOWN])
    assert zh == "展示：3件耳机，最匹配的在前"
    assert not re.search(r"Bose|Sony|¥|\d{3}", facts + zh)


def test_the_prompt_starts_with_a_static_prefix_the_server_can_keep_evaluated():
    first = reply_messages("en", "Show me headphones", "Shown: 5 × headphones, best match first")
    second = reply_messages(
        "en", "Recommend a watch", "Shown: 3 × watches, best match first", summary="asked for shoes"
    )
    assert first[:-1] == second[:-1] and first[-1] != second[-1]
    assert len(first) == 6 and first[0][0] == "system" and first[-1][0] == "user"
    assert reply_messages("zh", "推荐耳机", "展示：5件耳机")[0][1].startswith("你是")
