"""A recommendation request that names its category and nothing else ("Recommend a skincare product for me") is a
request for the whole category ranked for the shopper: the planner sends no request text, only the category."""

from __future__ import annotations

import pytest

from agent.guided.slots import extract_slots, only_category
from agent.vocabulary import Catalog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Recommend a headphone for me please", True),
        ("Could you suggest some good running shoes?", True),
        ("推荐一款适合我的耳机", True),
        ("给我推荐几款跑步鞋吧", True),
        ("Recommend noise cancelling headphones for the plane", False),  # says what kind of headphones
        ("推荐一款降噪耳机", False),
        ("Recommend headphones under 500", False),  # a budget is not filler
        ("Recommend something for me", False),  # no category at all
        ("any other headphones?", False),  # a follow-up: the need stays the one shown
    ],
)
def test_requests_naming_only_their_category(tiny_catalog: Catalog, text: str, expected: bool) -> None:
    slots = extract_slots(text, tiny_catalog)
    assert only_category(text, tiny_catalog, slots.category) is expected


def test_a_synonym_naming_a_kind_of_the_category_is_a_need(tiny_catalog: Catalog) -> None:
    # 降噪耳机 maps to headphones, but it asks for noise-cancelling ones, not for any headphone
    assert extract_slots("推荐一款降噪耳机", tiny_catalog).category == "headphones"
    assert not only_category("推荐一款降噪耳机", tiny_catalog, "headphones")
    assert only_category("推荐一款适合我的耳机产品", tiny_catalog, "headphones")
