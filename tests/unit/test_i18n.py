"""One table of words (domain.i18n): every label in both languages, every engine feature named in Chinese, and
the staff console's Chinese screens free of English feature names, category slugs and raw codes."""

from __future__ import annotations

from datetime import date
from typing import get_args

from domain.i18n import (
    FEATURE_LABELS,
    INTENT_LABELS,
    ORDER_STATUS_LABELS,
    PRICE_TIER_LABELS,
    SEGMENT_LABELS,
    TEXT,
    category_label,
    feature_label,
    intent_label,
    order_status_label,
)
from domain.models import OrderStatus, PriceTier, Segment, UserProfile, ValueAssessment
from tools.schemas import ToolError
from ui.render import value_card
from ui.staff_data import timeline_frame
from valuation.behaviour import BEHAVIOUR_FEATURES
from valuation.explain import top_reasons
from valuation.features import CORE_FEATURES
from valuation.prediction import PREDICTION_FEATURES


def test_every_table_covers_its_codes_in_both_languages() -> None:
    tables = [TEXT, FEATURE_LABELS, SEGMENT_LABELS, INTENT_LABELS, ORDER_STATUS_LABELS, PRICE_TIER_LABELS]
    assert all(
        set(entry) == {"zh", "en"} and all(entry.values()) for table in tables for entry in table.values()
    )
    assert set(SEGMENT_LABELS) == set(Segment)
    assert set(ORDER_STATUS_LABELS) == set(OrderStatus)
    assert set(PRICE_TIER_LABELS) == set(PriceTier)
    assert set(INTENT_LABELS) == set(UserProfile.model_fields["intent"].annotation.__args__)  # type: ignore[union-attr]


def test_every_engine_feature_has_a_chinese_name() -> None:
    for name in {*CORE_FEATURES, *PREDICTION_FEATURES, *BEHAVIOUR_FEATURES}:
        zh = feature_label(name, "zh")
        assert zh != name.replace("_", " ") and not zh.isascii(), name


def test_the_chinese_value_card_shows_no_english_label_slug_or_code() -> None:
    reasons = top_reasons({"signup_age_days": 0.4, "spend_last_90d": -0.2}, {"signup_age_days": 30.0}, 5)
    assert [r.label_zh for r in reasons] == ["注册天数", "近90天消费"]
    assessment = ValueAssessment(
        user_id="u1", as_of=date(2026, 6, 1), score=64, segment=Segment.loyal, predicted_spend_12m=900.0,
        predicted_purchases_12m=3, p_alive=0.8, price_sensitivity=0.3, churn_risk=0.2, next_purchase_prob_30d=0.3,
        likely_categories=["phone-accessories", "gaming"], reasons=reasons,
        explanation="Value score 64/100 (Loyal); predicted 12-month spend ¥900.",  # stored in the customer's language
    )  # fmt: skip
    html = value_card(assessment, "zh", {"phone-accessories": "手机配件", "gaming": "游戏"})
    assert "手机配件, 游戏" in html
    assert "phone-accessories" not in html and "Value score" not in html and "signup age" not in html
    assert "价值评分 64/100" in html and "注册天数" in html
    english = value_card(assessment, "en", {"phone-accessories": "手机配件"})
    assert "phone accessories" in english and "Value score 64/100" in english


def test_codes_read_as_words_in_each_language() -> None:
    assert (
        intent_label("ready_to_buy", "zh") == "准备购买"
        and intent_label("ready_to_buy", "en") == "ready to buy"
    )
    assert order_status_label("delivered", "zh") == "已送达"
    assert (
        category_label("makeup", "zh", "彩妆") == "彩妆"
        and category_label("makeup", "en", "彩妆") == "makeup"
    )
    history = {"recent_orders": [{"date": "2026-05-01", "order_id": "o1", "status": "returned", "total": 10.0,
                                  "items": [{"title": "耳机", "quantity": 1}]}]}  # fmt: skip
    frame = timeline_frame(history, "zh")
    assert list(frame.columns)[2] == "状态" and frame.iloc[0, 2] == "已退货"


def test_every_tool_error_code_has_a_reply_in_both_languages() -> None:
    # the guided agent answers a tool error with t(code): a code without a text crashed the turn (KeyError)
    codes = get_args(ToolError.model_fields["code"].annotation)
    assert codes and all(TEXT[code]["zh"] and TEXT[code]["en"] for code in codes)
