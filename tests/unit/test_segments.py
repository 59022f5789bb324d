"""Segment rules on hand-made users: each segment's defining case, and the documented precedence."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from domain.models import Segment
from valuation.segments import SegmentRules, assign_segment, assign_segments

# A steady mid-value repeat customer: matches no rule above "loyal".
BASE = {
    "score": 55.0,
    "p_alive": 0.8,
    "days_since_last": 40.0,
    "tenure_days": 400.0,
    "n_purchase_days": 6.0,
    "price_sensitivity": 0.3,
    "churn_risk": 0.2,
    "events_last_90d": 10.0,
}


def seg(**changes: float) -> Segment:
    return assign_segment(**{**BASE, **changes})


def test_steady_repeat_customer_is_loyal() -> None:
    assert seg() is Segment.loyal


def test_top_decile_is_vip() -> None:
    assert seg(score=95.0) is Segment.vip


def test_high_churn_risk_for_a_valuable_customer_is_at_risk() -> None:
    assert seg(score=70.0, churn_risk=0.8) is Segment.at_risk
    # the same risk for a low-value customer is not worth the at-risk campaign: falls through to the rules below
    assert seg(score=20.0, churn_risk=0.8, n_purchase_days=2.0) is Segment.at_risk  # fallback: churn >= 0.5
    assert seg(score=20.0, churn_risk=0.8) is Segment.loyal


def test_new_customers_are_promising() -> None:
    assert seg(tenure_days=30.0, n_purchase_days=1.0) is Segment.promising
    assert seg(n_purchase_days=1.0, p_alive=0.9, tenure_days=200.0) is Segment.promising
    assert seg(score=80.0) is Segment.promising  # high predicted value, not yet VIP


def test_non_buyer_recently_signed_up_is_promising_but_old_and_idle_is_lapsed() -> None:
    assert (
        seg(n_purchase_days=0.0, days_since_last=math.nan, tenure_days=20.0, p_alive=0.5) is Segment.promising
    )
    idle = {"n_purchase_days": 0.0, "days_since_last": math.nan, "tenure_days": 300.0, "events_last_90d": 0.0}
    assert seg(**idle) is Segment.lapsed
    assert seg(**{**idle, "events_last_90d": 5.0}) is Segment.promising


def test_deal_hunters_are_price_sensitive() -> None:
    assert seg(price_sensitivity=0.8) is Segment.price_sensitive
    assert seg(price_sensitivity=0.55, n_purchase_days=2.0) is Segment.price_sensitive  # fallback at 0.5


def test_lapsed_by_p_alive_or_by_a_year_without_purchase() -> None:
    assert seg(p_alive=0.05) is Segment.lapsed
    assert seg(days_since_last=400.0) is Segment.lapsed


def test_precedence_lapsed_beats_vip_and_vip_beats_price_sensitive() -> None:
    assert seg(score=99.0, p_alive=0.05) is Segment.lapsed
    assert seg(score=99.0, price_sensitivity=0.9) is Segment.vip


def test_vectorised_matches_one_by_one_and_rules_are_configurable() -> None:
    rows = [BASE, {**BASE, "score": 95.0}, {**BASE, "p_alive": 0.01}, {**BASE, "price_sensitivity": 0.9}]
    frame = pd.DataFrame(rows, index=["a", "b", "c", "d"])
    got = assign_segments(frame)
    assert list(got) == [seg(**{k: v for k, v in r.items()}).value for r in rows]
    assert list(got.index) == ["a", "b", "c", "d"]
    strict = SegmentRules(vip_score=99.0)
    assert Segment(assign_segments(frame, strict).loc["b"]) is Segment.promising


@pytest.mark.parametrize("segment", list(Segment))
def test_every_segment_is_reachable(segment: Segment) -> None:
    examples = {
        Segment.vip: {"score": 95.0},
        Segment.loyal: {},
        Segment.promising: {"tenure_days": 30.0, "n_purchase_days": 1.0},
        Segment.price_sensitive: {"price_sensitivity": 0.9},
        Segment.at_risk: {"score": 70.0, "churn_risk": 0.9},
        Segment.lapsed: {"p_alive": 0.01},
    }
    assert seg(**examples[segment]) is segment
