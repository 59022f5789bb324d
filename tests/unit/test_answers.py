"""Answering the question asked, by code from the facts: criteria, yes/no questions, member levels, requests the
tools can't serve, and the rules that route those messages."""

from __future__ import annotations

import pytest

from agent.guided.answers import (
    criterion_answer,
    find_criterion,
    find_yes_no,
    member_level_answer,
    parse_member_levels,
    single_criterion_answer,
    yes_no_answer,
)
from agent.guided.intent import rule_intent
from agent.guided.planner import relative_budgets, resolve_refs
from agent.guided.slots import extract_slots, parse_relative
from agent.vocabulary import build_catalog

CATALOG = build_catalog(
    [
        ("p00001", "Lenovo ThinkPad X1 Laptop", "联想 ThinkPad X1 笔记本电脑", "Lenovo", "laptops", "笔记本电脑", 7829.0),
        ("p00002", "Acer Aspire 3 Laptop", "宏碁 Aspire 3 笔记本电脑", "Acer", "laptops", "笔记本电脑", 2324.0),
        ("p00003", "Casio F-91W Watch", "卡西欧 F-91W 手表", "Casio", "watches", "手表", 109.65),
    ]
)  # fmt: skip


def _details(pid: str, title: str, price: float, description: str, **extra: object) -> dict:
    product = {"product_id": pid, "title": title, "price": price, "rating": 4.4, "rating_count": 12, **extra}
    return {"product": product, "description": f"<data>{description}</data>", "stock": extra.get("stock", 5)}


LAPTOPS_ZH = [
    _details("p00001", "联想 ThinkPad X1 笔记本电脑", 7829.0, "联想笔记本电脑（XA-10）：高性能、大屏。适合视频剪辑。"),
    _details("p00002", "宏碁 Aspire 3 笔记本电脑", 2324.0, "宏碁笔记本电脑（XB-20）：轻薄、长续航。适合学生学习。"),
]


def test_the_student_comparison_is_answered_from_the_descriptions_and_prices():
    answer = criterion_answer("zh", "student", LAPTOPS_ZH)
    assert answer.startswith("就学生而言，宏碁 Aspire 3 笔记本电脑更合适")
    assert "「学生」" in answer and "¥2,324.00" in answer and "¥7,829.00" in answer


def test_a_criterion_no_description_speaks_to_is_said_to_be_missing():
    answer = criterion_answer("en", "quiet", [
        _details("p1", "Lenovo ThinkPad X1 Laptop", 7829.0, "Fast and bright."),
        _details("p2", "Acer Aspire 3 Laptop", 2324.0, "Light and cheap."),
    ])  # fmt: skip
    assert "doesn't say" in answer and "quietness" in answer
    single = single_criterion_answer("zh", "sport", LAPTOPS_ZH[0])
    assert "没有说明是否适合运动" in single


def test_yes_no_questions_about_a_product_are_answered_from_its_facts():
    on_sale = _details("p3", "Casio F-91W Watch", 109.65, "", on_promotion=True, discount_pct=0.15, list_price=129.0)
    assert yes_no_answer("en", "on_sale", on_sale) == "Yes, Casio F-91W Watch is on sale: 15% off, now ¥109.65, was ¥129.00."
    assert yes_no_answer("zh", "on_sale", LAPTOPS_ZH[0]).startswith("没有，")
    assert "缺货" in yes_no_answer("zh", "in_stock", {**LAPTOPS_ZH[1], "stock": 0})
    assert "★4.4" in yes_no_answer("en", "rating", LAPTOPS_ZH[1])


def test_member_level_is_the_configured_one_or_a_polite_refusal():
    levels = parse_member_levels("vip=Gold member|金卡会员, loyal=Silver member|银卡会员")
    assert levels == {"vip": ("Gold member", "金卡会员"), "loyal": ("Silver member", "银卡会员")}
    assert "金卡会员" in member_level_answer("zh", "vip", levels)
    refusal = member_level_answer("zh", "price_sensitive", levels)
    assert refusal.startswith("抱歉") and "价格敏感" not in refusal and "级" not in refusal.replace("等级", "")
    assert "member level" in member_level_answer("en", None, {})


@pytest.mark.parametrize(
    ("text", "criterion", "yes_no", "relative"),
    [
        ("这两款哪个更适合学生？", "student", None, None),
        ("Which of them is better for travel?", "travel", None, None),
        ("Is the first one on sale?", None, "on_sale", None),
        ("第二款有货吗？", None, "in_stock", None),
        ("Anything cheaper?", None, None, "cheaper"),
        ("有没有更高端的？", None, None, "pricier"),
        ("a bigger one?", None, None, "bigger"),
    ],
)
def test_slots_read_criteria_questions_and_relative_moves(text, criterion, yes_no, relative):
    assert find_criterion(text) == criterion
    assert find_yes_no(text) == yes_no
    assert parse_relative(text) == relative


def test_rules_route_member_unsupported_not_sold_and_follow_up_questions():
    def rule(text: str, staff: bool = False, shown: bool = True) -> str | None:
        return rule_intent(text, extract_slots(text, CATALOG), is_staff=staff, has_shown_products=shown)

    assert rule("我在你们这里算是什么级别的客户？") == "member_level"
    assert rule("What kind of customer am I?") == "member_level"
    assert rule("我要退款") == "unsupported"
    assert rule("I want a refund for my last order") == "unsupported"
    assert rule("Do you sell cars?") == "not_sold"
    assert rule("你们有卖汽车吗？") == "not_sold"
    assert rule("Do you sell watches?") is None  # a category we have: a search
    assert rule("有没有更便宜的？") is None  # a follow-up, not an out-of-catalog question
    assert rule("Is the first one on sale?") == "product_details"
    assert rule("is it in stock?") == "product_details"
    assert rule("这两款哪个更适合学生？") == "compare"
    assert rule("Which of them is best for travel?") == "compare"
    assert rule("哪款更适合旅行？") == "compare"


def test_follow_up_references_resolve_to_what_was_shown():
    shown = ["p00001", "p00002", "p00003"]

    def refs(text: str, intent: str) -> list[str]:
        return resolve_refs(extract_slots(text, CATALOG), shown, intent, text)

    assert refs("Is the first one on sale?", "product_details") == ["p00001"]
    assert refs("第二款有货吗？", "product_details") == ["p00002"]
    assert refs("is it in stock?", "product_details") == ["p00001"]
    assert refs("这两款哪个更适合学生？", "compare") == ["p00001", "p00002"]
    assert refs("Which of them is best for travel?", "compare") == shown


def test_cheaper_and_pricier_move_relative_to_the_prices_shown():
    prices = [299.0, 459.5, 899.0]
    cheaper = relative_budgets("cheaper", prices, None, 1000.0)
    assert cheaper[0] == (None, 298.99) and cheaper[1] == (None, 898.99) and cheaper[-1] == (None, 1000.0)
    pricier = relative_budgets("pricier", prices, None, None)
    assert pricier[0] == (899.01, None) and pricier[1] == (299.01, None)
