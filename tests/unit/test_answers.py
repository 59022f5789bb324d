"""Answering the question asked, by code from the facts: criteria, yes/no questions, member levels, requests the
tools can't serve, and the rules that route those messages."""

from __future__ import annotations

import pytest

from agent.guided.answers import (
    REVIEWS_RE,
    criterion_answer,
    find_criterion,
    find_yes_no,
    member_level_answer,
    parse_member_levels,
    reviews_answer,
    single_criterion_answer,
    yes_no_answer,
)
from agent.guided.intent import rule_intent
from agent.guided.planner import LIST_SIZE, order_by_price, relative_budgets, resolve_refs
from agent.guided.slots import extract_slots, parse_relative
from agent.toolbox import ToolRun
from agent.vocabulary import build_catalog

CATALOG = build_catalog(
    [
        ("p00001", "Lenovo ThinkPad X1 Laptop", "联想 ThinkPad X1 笔记本电脑", "Lenovo", "laptops", "笔记本电脑", 7829.0),
        ("p00002", "Acer Aspire 3 Laptop", "宏碁 Aspire 3 笔记本电脑", "Acer", "laptops", "笔记本电脑", 2324.0),
        ("p00003", "Casio F-91W Watch", "卡西欧 F-91W 手表", "Casio", "watches", "手表", 109.65),
        ("p00004", "Sony WH-1000XM5 Headphones", "索尼 WH-1000XM5 耳机", "Sony", "headphones", "耳机", 2499.0),
        ("p00005", "DeLonghi Magnifica Coffee Machine", "德龙 Magnifica 咖啡机", "DeLonghi", "coffee-machines", "咖啡机", 3299.0),
        ("p00006", "Asics Gel Running Shoes", "亚瑟士 Gel 跑鞋", "Asics", "running-shoes", "跑鞋", 599.0),
    ]
)  # fmt: skip


def _details(pid: str, title: str, price: float, description: str, **extra: object) -> dict:
    product = {"product_id": pid, "title": title, "price": price, "rating": 4.4, "rating_count": 12, **extra}
    return {"product": product, "description": f"<data>{description}</data>", "stock": extra.get("stock", 5)}


LAPTOPS_ZH = [
    _details(
        "p00001",
        "联想 ThinkPad X1 笔记本电脑",
        7829.0,
        "联想笔记本电脑（XA-10）：高性能、大屏。适合视频剪辑。",
    ),
    _details(
        "p00002", "宏碁 Aspire 3 笔记本电脑", 2324.0, "宏碁笔记本电脑（XB-20）：轻薄、长续航。适合学生学习。"
    ),
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
    on_sale = _details(
        "p3", "Casio F-91W Watch", 109.65, "", on_promotion=True, discount_pct=0.15, list_price=129.0
    )
    assert (
        yes_no_answer("en", "on_sale", on_sale)
        == "Yes, Casio F-91W Watch is on sale: 15% off, now ¥109.65, was ¥129.00."
    )
    assert yes_no_answer("zh", "on_sale", LAPTOPS_ZH[0]).startswith("没有，")
    assert "缺货" in yes_no_answer("zh", "in_stock", {**LAPTOPS_ZH[1], "stock": 0})
    assert "★4.4" in yes_no_answer("en", "rating", LAPTOPS_ZH[1])


def test_member_level_is_the_configured_one_or_a_polite_refusal():
    levels = parse_member_levels("vip=Gold member|金卡会员, loyal=Silver member|银卡会员")
    assert levels == {"vip": ("Gold member", "金卡会员"), "loyal": ("Silver member", "银卡会员")}
    assert "金卡会员" in member_level_answer("zh", "vip", levels)
    refusal = member_level_answer("zh", "price_sensitive", levels)
    assert (
        refusal.startswith("抱歉") and "价格敏感" not in refusal and "级" not in refusal.replace("等级", "")
    )
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


def test_a_yes_no_question_about_a_named_product_routes_to_its_details():
    def rule(text: str) -> str | None:
        return rule_intent(text, extract_slots(text, CATALOG), is_staff=False, has_shown_products=False)

    assert rule("Is the Sony headphone good for travel?") == "product_details"
    assert rule("索尼耳机适合旅行吗？") == "product_details"
    assert rule("Show me Sony headphones") is None  # no question: a search
    sony = _details(
        "p00004", "Sony WH-1000XM5 Headphones", 2499.0, "Foldable, noise cancelling, great for travel."
    )
    assert single_criterion_answer("en", "travel", sony).startswith(
        "Yes, Sony WH-1000XM5 Headphones suits travel"
    )
    plain = _details("p00004", "Sony WH-1000XM5 Headphones", 2499.0, "Deep bass.")
    assert "doesn't say" in single_criterion_answer("en", "travel", plain)


def test_a_review_question_about_a_category_routes_to_the_reviews():
    def rule(text: str, shown: bool = False) -> str | None:
        return rule_intent(text, extract_slots(text, CATALOG), is_staff=False, has_shown_products=shown)

    assert rule("What do other customers say about your coffee machines?") == "reviews"
    assert rule("其他顾客对你们的咖啡机评价怎么样？") == "reviews"
    assert rule("这个评价怎么样", shown=True) == "product_details"  # a shown product's own reviews
    assert not REVIEWS_RE.search("Recommend some coffee machines")


def test_reviews_are_summarised_from_the_reviews_in_the_shoppers_language():
    def details(pid: str, rating: float, count: int, reviews: list[tuple[int, str, str]]) -> dict:
        product = {"product_id": pid, "title": f"Machine {pid}", "category": "coffee machines", "price": 999.5,
                   "rating": rating, "rating_count": count}  # fmt: skip
        return {"product": product, "reviews": [{"rating": r, "language": lang, "text": f"<data>{text}</data>"}
                                                for r, lang, text in reviews]}  # fmt: skip

    found = [
        details("p1", 4.8, 30, [(5, "zh", "很好用"), (5, "en", "Makes great espresso every morning.")]),
        details("p2", 3.8, 10, [(3, "zh", "一般")]),
    ]
    header, body = reviews_answer("en", found)
    assert header == "Here is what shoppers say about these coffee machines: ★4.5 on average over 40 reviews."
    assert "“Makes great espresso every morning.” (★5)" in body and "很好用" not in body
    assert "1. Machine p1 — ¥999.50 ★4.8 (30 reviews)" in body
    zh_header, zh_body = reviews_answer("zh", found)
    assert "平均★4.5，共40条评价" in zh_header and "“一般”（★3）" in zh_body
    none_yet = [details("p3", 0.0, 0, [])]
    assert reviews_answer("en", none_yet) == ("These coffee machines have no reviews yet.", "")


def test_a_price_ask_orders_the_matches_by_price_within_the_need():
    assert extract_slots("给我看看便宜一点的跑鞋", CATALOG).price_sort == "low_first"
    assert extract_slots("Show me some cheap headphones", CATALOG).price_sort == "low_first"
    assert extract_slots("high-end headphones please", CATALOG).price_sort == "high_first"
    assert extract_slots("有优惠的耳机吗", CATALOG).price_sort is None  # promotions, not the cheapest
    assert extract_slots("headphones, my budget is 500", CATALOG).price_sort is None
    products = [
        {"product_id": f"p{i}", "price": price}
        for i, price in enumerate([420.0, 99.0, 650.0, 130.0, 88.0, 300.0, 510.0])
    ]
    run = ToolRun(
        name="search_products", output={"products": products}, product_ids=[p["product_id"] for p in products]
    )
    order_by_price(run, "low_first")
    assert [p["price"] for p in run.output["products"]] == [88.0, 99.0, 130.0, 300.0, 420.0][:LIST_SIZE]
    assert run.product_ids == ["p4", "p1", "p3", "p5", "p0"]
    order_by_price(run, "high_first")
    assert run.output["products"][0]["price"] == 420.0
