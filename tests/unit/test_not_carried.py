"""A "do you have X?" for a thing no product is named after: the reply says the shop seems not to carry it
before the closest products, instead of presenting them as the answer. Describing words never count."""

from __future__ import annotations

import pytest

from agent.guided.planner import not_carried
from agent.vocabulary import Catalog


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Do you have headphone stands?", "headphone stands"),  # stands: in no product's name
        ("Do you sell Sony headphones?", None),
        ("do you have any cheap running shoes under 500?", None),  # cheap, under: describing, not names
        ("Do you have good quality tea?", None),
        ("你们有卖耳机架吗？", "耳机架"),
        ("有没有便宜点的耳机", None),  # the noun after the last 的 is a category name
        ("有没有降噪耳机", None),  # a title contains it
    ],
)
def test_asked_things_missing_from_every_name(tiny_catalog: Catalog, text: str, expected: str | None) -> None:
    assert not_carried(text, "search", tiny_catalog) == expected


def test_only_product_questions_of_the_do_you_have_kind_are_checked(tiny_catalog: Catalog) -> None:
    assert not_carried("Recommend headphone stands", "search", tiny_catalog) is None  # not a "do you have"
    assert not_carried("Do you have headphone stands?", "order_status", tiny_catalog) is None
