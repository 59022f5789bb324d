"""The faithfulness check on LLM-written sentences: each failure quoted in issue 16 is caught, faithful sentences
pass, and the regenerate-once-then-template loop reports what happened."""

from __future__ import annotations

import json
import logging
import re

import pytest

from agent.guided.prompts import REPLY_EXAMPLES
from agent.middleware.faithfulness import (
    Failure,
    build_evidence,
    check_reply,
    check_sentence,
    generate_faithful,
)
from agent.vocabulary import build_catalog

ROWS = [
    ("p00011", "Lenovo ThinkPad X1 Carbon Laptop", "联想 ThinkPad X1 Carbon 笔记本电脑", "Lenovo", "laptops", "笔记本电脑", 7829.0),
    ("p00012", "Acer Aspire 3 Laptop", "宏碁 Aspire 3 笔记本电脑", "Acer", "laptops", "笔记本电脑", 2324.0),
    ("p00021", "Seiko Presage Watch", "精工 Presage 手表", "Seiko", "watches", "手表", 3999.0),
    ("p00022", "Casio F-91W Watch", "卡西欧 F-91W 手表", "Casio", "watches", "手表", 109.65),
    ("p00031", "Xiaomi Buds 4 Headphones", "小米 Buds 4 蓝牙耳机", "Xiaomi", "headphones", "耳机", 399.0),
    ("p00041", "Pampers Baby Dry Diapers", "帮宝适 婴儿纸尿裤", "Pampers", "baby", "母婴", 129.0),
]  # fmt: skip
CATALOG = build_catalog(ROWS)


def _brief(row: tuple, lang: str, **extra: object) -> dict:
    pid, en, zh, brand, category, category_zh, price = row
    return {
        "product_id": pid, "title": zh if lang == "zh" else en, "brand": brand,
        "category": category_zh if lang == "zh" else category, "price": price, "rating": 4.2,
        "rating_count": 30, "on_promotion": False, "discount_pct": 0.0, **extra,
    }  # fmt: skip


def _evidence(rows: list[tuple], lang: str, user_text: str, **extra: object):
    output = {"products": [_brief(r, lang, **extra) for r in rows]}
    return build_evidence([output], user_text, [r[0] for r in rows])


def _checks(failures: list[Failure]) -> set[str]:
    return {f.check for f in failures}


def test_a_made_up_customer_level_is_caught():
    # 我在你们这里算是什么级别的客户？ -> "您是三级客户。" over a list of baby products
    evidence = _evidence([ROWS[5]], "zh", "我在你们这里算是什么级别的客户？")
    assert "tier" in _checks(check_sentence("您是三级客户。", evidence, "zh", CATALOG))
    assert "tier" in _checks(check_sentence("You are a gold member.", evidence, "en", CATALOG))


def test_a_level_the_tools_stated_passes():
    output = {"user_id": "u00001", "member_level": "金卡会员"}
    evidence = build_evidence([output], "我是什么级别的客户？", [], ["u00001"])
    assert check_sentence("您是我们的金卡会员，感谢您的支持。", evidence, "zh", CATALOG) == []


def test_the_student_comparison_that_answers_nothing_is_caught():
    # 这两款哪个更适合学生？ after two laptops (¥7,829 and ¥2,324) were shown
    evidence = _evidence(ROWS[:2], "zh", "这两款哪个更适合学生？")
    sentence = "您说的这两款笔记本电脑适合学生，因为它们的价格和评分最高。"
    assert "comparative" in _checks(check_sentence(sentence, evidence, "zh", CATALOG))


def test_a_comparison_naming_the_real_winner_passes_and_the_wrong_one_fails():
    evidence = _evidence(ROWS[:2], "zh", "哪个便宜？")
    assert check_sentence("宏碁 Aspire 3 笔记本电脑最便宜。", evidence, "zh", CATALOG) == []
    wrong = check_sentence("联想 ThinkPad X1 Carbon 笔记本电脑最便宜。", evidence, "zh", CATALOG)
    assert "comparative" in _checks(wrong)


@pytest.mark.parametrize(
    ("sentence", "lang", "rows", "ask"),
    [
        ("You should recommend the Seiko NK-910 GPS titanium watch.", "en", [ROWS[2]], "Recommend a watch for me"),
        ("您可以推荐小米 ZS-160蓝牙耳机。", "zh", [ROWS[4]], "帮我推荐一款500元以内的蓝牙耳机"),
        ("The customer will like these headphones.", "en", [ROWS[4]], "headphones please"),
    ],
)  # fmt: skip
def test_the_speaker_must_be_the_assistant_talking_to_the_shopper(sentence, lang, rows, ask):
    evidence = _evidence(rows, lang, ask)
    assert "speaker" in _checks(check_sentence(sentence, evidence, lang, CATALOG))


def test_an_invented_model_code_and_a_brand_no_tool_returned_are_caught():
    evidence = _evidence([ROWS[4]], "zh", "帮我推荐一款500元以内的蓝牙耳机")
    checks = _checks(check_sentence("精工 NK-910 也不错。", evidence, "zh", CATALOG))
    assert "number" in checks
    assert "brand" in _checks(check_sentence("Seiko watches are lovely too.", evidence, "en", CATALOG))


def test_a_rounded_price_is_caught_and_the_exact_one_passes():
    evidence = _evidence([ROWS[3]], "en", "a cheap watch")
    assert "number" in _checks(check_sentence("It costs ¥110.", evidence, "en", CATALOG))
    assert check_sentence("The Casio F-91W Watch costs ¥109.65.", evidence, "en", CATALOG) == []


def test_a_foreign_currency_and_prompt_talk_are_caught():
    evidence = _evidence([ROWS[4]], "en", "headphones")
    assert "number" in _checks(check_sentence("These cost $399.", evidence, "en", CATALOG))
    assert "speaker" in _checks(check_sentence("The facts list some headphones.", evidence, "en", CATALOG))
    echo = "You are a shopping assistant talking to a shopper."  # seen from the local model
    assert "speaker" in _checks(check_sentence(echo, evidence, "en", CATALOG))


def test_a_refusal_over_products_the_tools_returned_is_caught():
    # seen from the local model over a list of watches
    evidence = _evidence(ROWS[2:4], "en", "I'd like a new watch, what do you suggest?")
    sentence = "You're looking for a new watch, but I can't help you with that."
    assert "refusal" in _checks(check_sentence(sentence, evidence, "en", CATALOG))
    assert "refusal" in _checks(check_sentence("抱歉，没有找到合适的手表。", evidence, "zh", CATALOG))


def test_a_cut_off_opening_is_never_shown_as_a_fragment():
    from agent.guided.reply import fit_opening, length_failures

    long_en = (
        "Here are some watches. "
        + "Please let me know if you would like to see more options in any style " * 2
    )
    assert fit_opening(long_en, "en") == "Here are some watches."
    assert (
        fit_opening("为您挑选了几款手表。" + "如果您想看更多款式或者其他价位的手表请随时告诉我" * 2, "zh")
        == "为您挑选了几款手表。"
    )
    # a closed JSON string is a whole sentence: it keeps its words and gets its end mark
    assert fit_opening("Here are some watches", "en") == "Here are some watches."
    # "Is the Sony headphone good for travel?": one long sentence was cut at 90 characters and glued to
    # "First pick: …"; now it comes back whole and the length check rejects it
    sony = ("The Sony WH-1000XM5 is a great choice for travel, which is a high-rated product with a long battery "
            "life and noise cancelling for flights")  # fmt: skip
    assert fit_opening(sony, "en") == sony
    assert {f.check for f in length_failures(sony, "en")} == {"length"}
    assert length_failures("Here are some watches.", "en") == []


@pytest.mark.parametrize(
    ("sentence", "lang", "rows", "ask"),
    [
        # 给我看看便宜一点的跑鞋 -> "性价比较低的跑鞋": false, and the opposite of the intent
        ("这里有一些性价比较低的手表。", "zh", ROWS[2:4], "给我看看便宜一点的手表"),
        ("These watches are poor value.", "en", ROWS[2:4], "cheaper watches please"),
    ],
)  # fmt: skip
def test_disparaging_value_words_are_caught(sentence, lang, rows, ask):
    evidence = _evidence(rows, lang, ask)
    assert "polarity" in _checks(check_sentence(sentence, evidence, lang, CATALOG, lead=True))


def test_cheap_and_pricey_words_must_agree_with_the_tools_price_order():
    ranked = _evidence(
        [ROWS[2], ROWS[3]], "zh", "给我看看便宜一点的手表"
    )  # ¥3,999 then ¥109.65: not by price
    cheapest_first = _evidence([ROWS[3], ROWS[2]], "zh", "给我看看便宜一点的手表")
    sentence = "为您找到了几款实惠的手表。"
    assert "polarity" in _checks(check_sentence(sentence, ranked, "zh", CATALOG, lead=True))
    assert check_sentence(sentence, cheapest_first, "zh", CATALOG, lead=True) == []
    en_first = _evidence([ROWS[3], ROWS[2]], "en", "cheap watches")
    assert check_sentence("Here are some affordable watches.", en_first, "en", CATALOG, lead=True) == []
    assert "polarity" in _checks(check_sentence("Here are some expensive watches.", en_first, "en", CATALOG))
    assert "polarity" in _checks(check_sentence("这些手表都不便宜。", cheapest_first, "zh", CATALOG))


@pytest.mark.parametrize(
    ("sentence", "lang", "ask"),
    [
        ("您想看看便宜一点的吗？", "zh", "给我看看便宜一点的跑鞋"),  # asked back instead of answering
        ("请问您对咖啡机的评价怎么样？", "zh", "其他顾客对你们的咖啡机评价怎么样？"),  # the shopper's question, reversed
        ("为您挑选了几款护肤品，您喜欢哪一款？", "zh", "想送朋友护肤品"),  # gift skincare: ends asking back
        ("Would you like to see more watches?", "en", "Recommend a watch for me"),
    ],
)  # fmt: skip
def test_a_lead_in_over_a_list_asks_the_shopper_nothing_back(sentence, lang, ask):
    evidence = _evidence(ROWS[2:4], lang, ask)
    assert "speaker" in _checks(check_reply(sentence, evidence, lang, CATALOG, lead=True))


def test_a_clarifying_question_outside_a_lead_in_is_allowed():
    evidence = _evidence(ROWS[2:4], "zh", "推荐手表")
    assert check_reply("请问您的预算是多少？", evidence, "zh", CATALOG) == []


def test_the_reply_must_be_in_the_shoppers_language():
    evidence = _evidence([ROWS[4]], "zh", "推荐耳机")
    assert "language" in _checks(
        check_sentence("Here are some nice headphones for you.", evidence, "zh", CATALOG)
    )


def test_an_ungrounded_catalog_product_is_caught():
    evidence = _evidence([ROWS[4]], "en", "headphones")
    assert "product" in _checks(check_sentence("Try the Acer Aspire 3 Laptop.", evidence, "en", CATALOG))


def test_faithful_openings_pass():
    evidence = _evidence([ROWS[4]], "zh", "帮我推荐一款500元以内的蓝牙耳机")
    assert check_reply("好的，这几款蓝牙耳机都在您的预算之内，请看看。", evidence, "zh", CATALOG) == []
    evidence = _evidence(ROWS[2:4], "en", "Recommend a watch for me")
    assert check_reply("Here are some watches you might like.", evidence, "en", CATALOG) == []


def test_regenerates_once_with_the_failures_then_falls_back(caplog):
    evidence = _evidence([ROWS[5]], "zh", "我算什么级别的客户？")

    def check(text: str) -> list[Failure]:
        return check_reply(text, evidence, "zh", CATALOG)

    seen: list[list[Failure]] = []
    replies = iter(["您是三级客户。", "这些母婴商品供您参考。"])

    def write(failures: list[Failure]) -> str:
        seen.append(failures)
        return next(replies)

    with caplog.at_level(logging.INFO, logger="agent.middleware.faithfulness"):
        result = generate_faithful(write, check, where="test")
    assert result.outcome == "regenerated" and result.text == "这些母婴商品供您参考。"
    assert seen[0] == [] and {f.check for f in seen[1]} == {"tier"}
    assert "tier failed" in caplog.text

    always_wrong = generate_faithful(lambda _f: "您是三级客户。", check, where="test")
    assert always_wrong.outcome == "template" and always_wrong.text is None and always_wrong.sentences == 2
    first = generate_faithful(lambda _f: "这些母婴商品供您参考。", check, where="test")
    assert first.outcome == "first_try"


def test_the_failure_log_is_pii_masked(caplog):
    evidence = _evidence([ROWS[4]], "en", "headphones")
    with caplog.at_level(logging.INFO, logger="agent.middleware.faithfulness"):
        generate_faithful(
            lambda _f: "Call 13812345678 about the order.",
            lambda t: check_reply(t, evidence, "en", CATALOG),
            where="test",
        )
    assert "13812345678" not in caplog.text and "number failed" in caplog.text


def test_a_brand_named_in_chinese_is_checked_like_its_latin_name():
    evidence = _evidence([ROWS[4]], "zh", "推荐耳机")  # Xiaomi only
    assert CATALOG.find_brand("精工手表怎么样") == "Seiko"
    assert "brand" in _checks(check_sentence("精工的手表也很好。", evidence, "zh", CATALOG))
    assert check_sentence("这款小米耳机音质不错。", evidence, "zh", CATALOG) == []


def test_a_budget_the_shopper_never_gave_is_caught():
    # seen from the local model for "I'd like a new watch, what do you suggest?"
    evidence = _evidence(ROWS[2:4], "en", "I'd like a new watch, what do you suggest?")
    assert "budget" in _checks(
        check_sentence("Here are some new watches that fit your budget.", evidence, "en", CATALOG)
    )
    with_budget = _evidence([ROWS[3]], "en", "a watch under 500 yuan")
    assert check_sentence("Here are some watches that fit your budget.", with_budget, "en", CATALOG) == []
    carried = build_evidence(
        [{"products": [_brief(ROWS[3], "zh")]}], "有更便宜的吗？", [ROWS[3][0]], budget=True
    )
    assert check_sentence("为您找到了几款预算内的手表。", carried, "zh", CATALOG) == []


def test_the_shopper_is_never_the_one_who_recommended():
    # "您推荐了几款预算内的蓝牙耳机。" ("You recommended…") for 500元以内的耳机有哪些？
    evidence = _evidence([ROWS[4]], "zh", "500元以内的耳机有哪些？")
    assert "speaker" in _checks(check_sentence("您推荐了几款预算内的蓝牙耳机。", evidence, "zh", CATALOG))
    assert "speaker" in _checks(check_sentence("您找到了几款预算内的耳机。", evidence, "zh", CATALOG))
    assert check_sentence("为您找到了几款预算内的耳机。", evidence, "zh", CATALOG) == []


def test_cheapest_first_describes_a_list_ordered_by_price_and_nothing_else():
    # "Here are some affordable headphones for you, cheapest first." failed as an unnamed "cheapest" claim
    cheapest_first = _evidence([ROWS[3], ROWS[2]], "en", "Show me some cheaper watches")
    ranked = _evidence([ROWS[2], ROWS[3]], "en", "Show me some watches")
    sentence = "Here are some affordable watches for you, cheapest first."
    assert check_sentence(sentence, cheapest_first, "en", CATALOG, lead=True) == []
    assert "comparative" in _checks(
        check_sentence("Here are some watches, cheapest first.", ranked, "en", CATALOG)
    )


def test_the_feedback_gives_the_model_no_prompt_words_to_echo():
    from agent.middleware.faithfulness import feedback_text

    for lang in ("en", "zh"):
        text = feedback_text([Failure(check="comparative", claim="cheapest")], lang)
        assert "cheapest" in text and not re.search(r"facts?|事实|list|列表", text, re.I)


def test_sorted_by_price_only_over_a_list_the_tool_ordered_by_price():
    # "Here are some headphones under 500 yuan, sorted by price …" over a list ranked by match (local run)
    ranked = _evidence([ROWS[2], ROWS[3], ROWS[4]], "en", "Show me watches under 5000 yuan")
    by_price = _evidence([ROWS[3], ROWS[4], ROWS[2]], "en", "cheaper watches under 5000 yuan")
    sentence = "Here are some watches for you, sorted by price."
    assert "polarity" in _checks(check_sentence(sentence, ranked, "en", CATALOG, lead=True))
    assert check_sentence(sentence, by_price, "en", CATALOG, lead=True) == []
    zh_ranked = _evidence([ROWS[2], ROWS[3], ROWS[4]], "zh", "推荐手表")
    assert "polarity" in _checks(check_sentence("为您找到了几款手表，按价格排序。", zh_ranked, "zh", CATALOG))


def test_the_worked_examples_pass_the_check_on_a_turn_without_a_budget() -> None:
    # The small model copies its worked examples: one that said 预算内 ("within your budget") made every Chinese
    # lead for a request without a price limit fail twice and fall back to the template (7 of 60 LLM texts in
    # the local agent suite).
    for lang, examples in REPLY_EXAMPLES.items():
        evidence = _evidence(ROWS[4:5], lang, "推荐几款耳机" if lang == "zh" else "Recommend some headphones")
        for _, reply in examples:
            assert check_reply(json.loads(reply)["opening"], evidence, lang, CATALOG) == []
