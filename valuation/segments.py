"""Value segments from the engine's outputs, by documented rules applied in a fixed order (first match wins).

Inputs per user: ``score`` (percentile 0-100 of predicted 12-month value), ``p_alive``, ``days_since_last``
(days since the last purchase; NaN for a user who never bought), ``tenure_days`` (days since the first purchase,
or since sign-up for non-buyers), ``n_purchase_days``, ``price_sensitivity`` (0-1), ``churn_risk`` (0-1).

Rules (``SegmentRules`` holds every threshold):
1. **lapsed** - a buyer whose P(alive) < ``lapsed_p_alive`` or who last bought more than ``lapsed_days`` ago;
   a non-buyer registered longer than ``new_days`` ago with no recent activity.
2. **vip** - score >= ``vip_score`` (top of the predicted-value distribution).
3. **at_risk** - churn risk >= ``at_risk_churn`` for a customer with score >= ``at_risk_min_score`` (worth saving).
4. **promising** - new: first purchase (or sign-up) within ``new_days``, or only one purchase so far and still
   likely alive; also any remaining user with score >= ``promising_score``.
5. **price_sensitive** - price sensitivity >= ``price_sensitive_min``.
6. **loyal** - ``loyal_min_purchases``+ purchase days and P(alive) >= ``loyal_p_alive``.
7. otherwise: at_risk when churn risk >= 0.5, else price_sensitive when sensitivity >= 0.5, else loyal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel

from domain.models import Segment


class SegmentRules(BaseModel):
    lapsed_p_alive: float = 0.15
    lapsed_days: float = 365.0
    vip_score: float = 90.0
    at_risk_churn: float = 0.6
    at_risk_min_score: float = 60.0
    new_days: float = 90.0
    promising_score: float = 75.0
    price_sensitive_min: float = 0.6
    loyal_min_purchases: int = 3
    loyal_p_alive: float = 0.5


def assign_segments(frame: pd.DataFrame, rules: SegmentRules | None = None) -> pd.Series:
    """Segment per row of ``frame`` (columns as in the module docstring), vectorised; values are Segment strings."""
    rules = rules or SegmentRules()
    score = frame["score"].to_numpy(float)
    p_alive = frame["p_alive"].to_numpy(float)
    since = frame["days_since_last"].to_numpy(float)
    tenure = frame["tenure_days"].to_numpy(float)
    n_days = frame["n_purchase_days"].fillna(0).to_numpy(float)
    sens = frame["price_sensitivity"].to_numpy(float)
    churn = frame["churn_risk"].to_numpy(float)
    recent_activity = (
        frame.get("events_last_90d", pd.Series(0.0, index=frame.index)).fillna(0).to_numpy(float)
    )

    buyer = n_days > 0
    lapsed = np.where(
        buyer,
        (p_alive < rules.lapsed_p_alive) | (np.nan_to_num(since, nan=0.0) > rules.lapsed_days),
        (tenure > rules.new_days) & (recent_activity <= 0),
    )
    vip = score >= rules.vip_score
    at_risk = (churn >= rules.at_risk_churn) & (score >= rules.at_risk_min_score)
    new = (tenure <= rules.new_days) | (buyer & (n_days <= 1) & (p_alive >= 0.5)) | ~buyer
    promising = new | (score >= rules.promising_score)
    price_sensitive = sens >= rules.price_sensitive_min
    loyal = (n_days >= rules.loyal_min_purchases) & (p_alive >= rules.loyal_p_alive)
    fallback = np.where(
        churn >= 0.5,
        Segment.at_risk.value,
        np.where(sens >= 0.5, Segment.price_sensitive.value, Segment.loyal.value),
    )
    result = np.select(
        [lapsed, vip, at_risk, promising, price_sensitive, loyal],
        [
            s.value
            for s in (
                Segment.lapsed,
                Segment.vip,
                Segment.at_risk,
                Segment.promising,
                Segment.price_sensitive,
                Segment.loyal,
            )
        ],
        default=fallback,
    )
    return pd.Series(result, index=frame.index, name="segment")


def assign_segment(rules: SegmentRules | None = None, **values: float) -> Segment:
    """One user's segment from keyword values (the same names as the frame columns)."""
    row = pd.DataFrame([{"events_last_90d": 0.0, **values}])
    return Segment(assign_segments(row, rules).iloc[0])
