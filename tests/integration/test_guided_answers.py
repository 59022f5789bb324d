"""The guided mode answers the question asked, on the demo shop through the real graph with no LLM: follow-ups
on what was shown (yes/no, criteria, cheaper / more premium), member levels, out-of-catalog and unsupported
requests, exact prices and card reasons that name the need."""

from __future__ import annotations

import os

import pytest

from agent.service import ChatService
from domain.i18n import money
from domain.privacy.access import Principal

pytestmark = pytest.mark.slow
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def shop(indexed_demo):
    return indexed_demo.model_copy(update={"llm": "none"})


@pytest.fixture
def chat(shop, shopper, request):
    service = ChatService(shop)
    thread = f"answers-{request.node.name}"

    def say(text: str, settings_service: ChatService | None = None):
        return (settings_service or service).respond_sync(
            thread, text, Principal.shopper(shopper), mode="guided"
        )

    yield say
    service.close()


def test_yes_no_about_the_first_product_shown_is_answered_from_its_facts(chat):
    shown = chat("推荐几款耳机")
    assert shown.products
    answer = chat("第一款在打折吗？")
    assert [c.name for c in answer.tool_calls] == ["get_product_details"]
    assert answer.product_ids == shown.product_ids[:1]
    first = shown.products[0]
    expected = "正在促销" if first.on_promotion and first.discount_pct > 0 else "没有促销"
    assert answer.reply.startswith(("是的，", "没有，")) and expected in answer.reply
    assert money(first.price) in answer.reply


def test_which_of_the_two_suits_a_student_answers_the_criterion(chat):
    shown = chat("Recommend some laptops")
    assert len(shown.products) >= 2
    answer = chat("Which of those two is better for a student?")
    assert answer.tool_calls[0].name == "compare_products"
    assert answer.tool_calls[0].args["product_ids"] == shown.product_ids[:2]
    assert answer.reply.startswith("For students, ")
    cheaper = min(shown.products[:2], key=lambda p: p.price)
    assert cheaper.title in answer.reply.splitlines()[0] or "mentions" in answer.reply.splitlines()[0]


def test_cheaper_moves_below_what_was_shown_in_the_same_category(chat):
    shown = chat("Recommend some coffee")
    assert shown.products
    cheaper = chat("Anything cheaper?")
    assert cheaper.products, cheaper.reply
    assert {p.category for p in cheaper.products} == {shown.products[0].category}
    assert min(p.price for p in cheaper.products) < max(p.price for p in shown.products)
    premium = chat("Anything more premium?")
    assert premium.products and max(p.price for p in premium.products) > min(
        p.price for p in cheaper.products
    )


def test_member_level_is_refused_politely_unless_the_shop_configured_levels(shop, shopper, chat):
    refusal = chat("我在你们这里算是什么级别的客户？")
    assert refusal.reply.startswith("抱歉") and "会员等级" in refusal.reply and not refusal.tool_calls
    every_segment = ",".join(
        f"{s}=Level {s}|{s}会员"
        for s in ("vip", "loyal", "promising", "price_sensitive", "at_risk", "lapsed")
    )
    configured = ChatService(shop.model_copy(update={"member_levels": every_segment}))
    try:
        answer = chat("What kind of customer am I?", configured)
    finally:
        configured.close()
    assert [c.name for c in answer.tool_calls] == ["get_user_profile"]
    assert answer.reply.startswith("Your member level with us is Level ")


def test_requests_the_tools_cannot_serve_are_said_plainly(chat):
    cars = chat("Do you sell cars?")
    assert "don't sell" in cars.reply and not cars.tool_calls and not cars.products
    refund = chat("我要退款")
    assert "办不到" in refund.reply and not refund.tool_calls


def test_a_thing_the_shop_does_not_carry_is_said_before_the_closest_products(chat):
    machines = chat("Do you have coffee machines?")
    assert machines.reply.startswith("We don't seem to carry coffee machines. The closest coffee we have:")
    assert machines.products and all(p.category == "coffee" for p in machines.products)
    zh = chat("你们有卖咖啡机吗？")
    assert zh.reply.startswith("本店似乎没有“咖啡机”。") and zh.products
    beans = chat("Do you have coffee beans?")  # carried: listed as the answer
    assert beans.reply.startswith("Here are") and "don't seem" not in beans.reply


def test_my_last_order_is_one_order_the_latest(chat):
    last = chat("What is the status of my last order?")
    recent = chat("Where are my orders?")
    assert last.reply.count("Order ") == 1 and recent.reply.count("Order ") >= 2
    assert last.reply.splitlines()[1] == recent.reply.splitlines()[1]  # the newest comes first in both
    assert chat("我最近一笔订单到哪了？").reply.count("订单 ") == 1


def test_listed_prices_are_exact_and_card_reasons_name_the_need(chat):
    result = chat("帮我推荐一款500元以内的蓝牙耳机")
    assert result.products
    for card in result.products:
        assert f"{card.title} — {money(card.price)}" in result.reply
        assert "帮我推荐" not in card.reason
    needs = [c.reason for c in result.products if "以内" in c.reason]
    assert all("¥500 以内" in reason for reason in needs)
