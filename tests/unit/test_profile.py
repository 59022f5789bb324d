"""Behaviour features and the rule profile on hand-made users, with hand-computed expectations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from valuation.behaviour import behaviour_features
from valuation.profile import (
    profile_to_features,
    rule_intent,
    rule_price_sensitivity,
    rule_profile,
    rule_profile_features,
    rule_satisfaction,
)

AS_OF = pd.Timestamp("2026-06-30")


def _events(rows: list[tuple[str, str, str, str, str | None, str | None]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "kind", "ts", "session_id", "product_id", "query"])
    frame["ts"] = pd.to_datetime(frame["ts"])
    return frame


def _reviews(rows: list[tuple[str, int, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "rating", "text", "created_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"])
    frame["product_id"], frame["language"] = "p1", "zh"
    return frame


@pytest.fixture
def feats() -> pd.DataFrame:
    events = _events(
        [
            # u1: 4 views, 2 clicks, 1 cart, 1 purchase over two sessions; one deal search; all recent
            ("u1", "view", "2026-06-20 10:00", "s1", "p1", None),
            ("u1", "view", "2026-06-20 10:01", "s1", "p2", None),
            ("u1", "click", "2026-06-20 10:02", "s1", "p2", None),
            ("u1", "search", "2026-06-20 10:03", "s1", None, "便宜的跑鞋"),
            ("u1", "view", "2026-06-25 09:00", "s2", "p3", None),
            ("u1", "view", "2026-06-25 09:01", "s2", "p3", None),
            ("u1", "click", "2026-06-25 09:02", "s2", "p3", None),
            ("u1", "add_to_cart", "2026-06-25 09:03", "s2", "p3", None),
            ("u1", "purchase", "2026-06-25 09:05", "s2", "p3", None),
            ("u1", "search", "2026-06-25 09:06", "s2", None, "flagship camera premium"),
            # u2: old activity only, no session ids (one session per day), and an event after the cut-off
            ("u2", "view", "2026-01-01 08:00", "", "p1", None),
            ("u2", "view", "2026-01-02 08:00", "", "p1", None),
            ("u2", "add_to_cart", "2026-07-05 08:00", "", "p1", None),
        ]
    )
    reviews = _reviews(
        [
            ("u1", 5, "很好，很满意", "2026-06-26"),
            ("u1", 1, "质量问题，想退货", "2026-06-27"),
            ("u3", 2, "Arrived broken, very disappointed", "2026-06-01"),
            ("u3", 4, "fine", "2026-06-02"),
            ("u3", 5, "great", "2026-07-10"),  # after the cut-off: ignored
        ]
    )
    return behaviour_features(
        events, reviews, AS_OF, users=pd.Index(["u1", "u2", "u3", "u4"], name="user_id")
    )


def test_funnel_counts_and_rates(feats: pd.DataFrame) -> None:
    u1 = feats.loc["u1"]
    assert (u1.n_views, u1.n_clicks, u1.n_carts, u1.n_purchase_events, u1.n_searches) == (4, 2, 1, 1, 2)
    assert u1.view_to_click == pytest.approx(0.5)
    assert u1.cart_to_purchase == pytest.approx(1.0)
    assert u1.view_to_purchase == pytest.approx(0.25)
    assert u1.n_sessions == 2 and u1.sessions_last_30d == 2
    assert u1.deal_search_share == pytest.approx(0.5) and u1.premium_search_share == pytest.approx(0.5)
    assert u1.carts_last_30d == 1
    assert u1.days_since_last_event == 5  # 2026-06-25 09:06 -> end of 2026-06-30


def test_cutoff_excludes_later_rows_and_sessionless_events_group_by_day(feats: pd.DataFrame) -> None:
    u2 = feats.loc["u2"]
    assert u2.n_events == 2 and u2.n_carts == 0  # the 2026-07-05 cart is after the cut-off
    assert u2.n_sessions == 2  # no session id: one session per calendar day
    assert u2.events_last_90d == 0
    assert feats.loc["u3"].n_reviews == 2  # the July review is after the cut-off


def test_reviews_give_rating_and_bilingual_complaints(feats: pd.DataFrame) -> None:
    assert feats.loc["u1"].avg_rating == pytest.approx(3.0)
    assert feats.loc["u1"].complaint_share == pytest.approx(0.5)  # 质量问题 / 退货
    assert feats.loc["u3"].complaint_share == pytest.approx(0.5)  # broken / disappointed
    assert feats.loc["u3"].low_rating_share == pytest.approx(0.5)


def test_users_without_activity_get_zeros_and_nan_where_undefined(feats: pd.DataFrame) -> None:
    u4 = feats.loc["u4"]
    assert u4.n_events == 0 and u4.view_to_click == 0 and u4.n_reviews == 0
    assert math.isnan(u4.avg_rating) and math.isnan(u4.days_since_last_event)


def _row(**values: float) -> pd.DataFrame:
    return pd.DataFrame([values])


def test_price_sensitivity_orders_budget_deal_hunters_above_luxury_buyers() -> None:
    hunter = _row(n_purchase_days=5, price_tier_mean=0.0, discounted_line_share=0.9, deal_search_share=0.8)
    luxury = _row(n_purchase_days=5, price_tier_mean=3.0, discounted_line_share=0.0, premium_search_share=0.6)
    unknown = _row(n_purchase_days=0)
    h, lx, u = (float(rule_price_sensitivity(f).iloc[0]) for f in (hunter, luxury, unknown))
    assert h > 0.8 and lx < 0.1
    assert lx < u < h
    # budget tier (1.0), 90% discounted lines, 80% deal searches: 0.5*1 + 0.35*0.9 + 0.3*0.8 + 0.075 = 1.13 -> 1
    assert h == pytest.approx(1.0)
    # non-buyer, no searches: 0.5*0.5 + 0.35*0.5 + 0.075 = 0.5
    assert u == pytest.approx(0.5)


def test_satisfaction_from_ratings_and_complaints() -> None:
    assert float(rule_satisfaction(_row(avg_rating=5.0)).iloc[0]) == pytest.approx(1.0)
    # (3-1)/4 = 0.5, times (1 - 0.4 * 0.5) = 0.4
    assert float(rule_satisfaction(_row(avg_rating=3.0, complaint_share=0.5)).iloc[0]) == pytest.approx(0.4)
    assert float(rule_satisfaction(_row(n_reviews=0)).iloc[0]) == pytest.approx(0.5)


def test_intent_rules_in_order() -> None:
    frame = pd.DataFrame(
        [
            {"low_rating_share": 1.0, "days_since_last_review": 10, "carts_last_30d": 2},
            {"gift_search_share": 0.5, "carts_last_30d": 1},
            {"carts_last_30d": 1, "events_last_30d": 20},
            {"events_last_30d": 12},
            {"events_last_90d": 3},
            {},
        ]
    )
    assert list(rule_intent(frame)) == ["support", "gift", "ready_to_buy", "comparing", "browsing", "unknown"]


def test_rule_profile_of_one_user_and_its_features() -> None:
    features = pd.Series(
        {"n_purchase_days": 3, "price_tier_mean": 2.5, "discounted_line_share": 0.0, "avg_rating": 4.6,
         "carts_last_30d": 1, "events_last_30d": 3}
    )  # fmt: skip
    activity = pd.DataFrame(
        {
            "category": ["cameras", "cameras", "tea", "tea", "tea", "books"],
            "brand": ["Sony", "Sony", "Longjing", "Longjing", "Longjing", ""],
            "weight": [3.0, 3.0, 0.5, 0.5, 0.5, 1.0],
        }
    )
    profile = rule_profile(features, activity)
    assert profile.source == "rules"
    assert profile.interests == ["cameras", "tea", "books"]  # by weight: 6, 1.5, 1
    assert profile.brand_affinity == ["Sony", "Longjing"]  # empty brands are dropped
    assert profile.intent == "ready_to_buy"
    assert profile.price_sensitivity < 0.3 and profile.satisfaction == pytest.approx(0.9)
    feats = profile_to_features(profile)
    frame_feats = rule_profile_features(features.to_frame().T).iloc[0].to_dict()
    assert feats == pytest.approx(frame_feats, abs=1e-3)  # one user and the vectorised path agree
