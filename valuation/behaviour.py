"""Per-user behaviour features from events (views, clicks, searches, carts) and reviews, as of a cut-off.

Vectorised (pandas groupby) for all users at once; a one-user frame gives the same columns. Only rows dated on
or before ``as_of`` (whole day included) are used, as in :mod:`valuation.features`, so nothing after a cut-off
leaks into a backtest. Complaint words are matched in Chinese and English.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.store.repository import UserScope, read_frame, scoped
from domain.store.schema import events, reviews

# Words that mark a review or search as a complaint (quality, delivery, refund). Chinese needs no word breaks.
COMPLAINT_WORDS_ZH: tuple[str, ...] = (
    "差",
    "失望",
    "退货",
    "退款",
    "质量问题",
    "坏了",
    "破损",
    "投诉",
    "不好",
    "太慢",
    "假货",
    "骗",
    "不满意",
    "垃圾",
    "后悔",
)
COMPLAINT_WORDS_EN: tuple[str, ...] = (
    "broken",
    "disappoint",
    "refund",
    "return",
    "poor",
    "bad",
    "terrible",
    "worst",
    "fake",
    "slow",
    "complain",
    "defect",
    "waste",
    "regret",
)
# Searches that ask for deals: a price-sensitivity signal.
DEAL_WORDS: tuple[str, ...] = (
    "便宜",
    "优惠",
    "打折",
    "折扣",
    "特价",
    "促销",
    "划算",
    "性价比",
    "平价",
    "cheap",
    "deal",
    "discount",
    "sale",
    "budget",
    "affordable",
    "coupon",
    "promo",
    "clearance",
)
PREMIUM_WORDS: tuple[str, ...] = (
    "高端",
    "旗舰",
    "奢华",
    "顶级",
    "专业",
    "premium",
    "luxury",
    "flagship",
    "pro ",
)
GIFT_WORDS: tuple[str, ...] = ("礼物", "送", "礼品", "gift", "present", "birthday", "生日")

COMPLAINT_RE = re.compile("|".join(map(re.escape, COMPLAINT_WORDS_ZH + COMPLAINT_WORDS_EN)), re.IGNORECASE)
DEAL_RE = re.compile("|".join(map(re.escape, DEAL_WORDS)), re.IGNORECASE)
PREMIUM_RE = re.compile("|".join(map(re.escape, PREMIUM_WORDS)), re.IGNORECASE)
GIFT_RE = re.compile("|".join(map(re.escape, GIFT_WORDS)), re.IGNORECASE)

BEHAVIOUR_FEATURES: tuple[str, ...] = (
    "n_events",
    "n_views",
    "n_clicks",
    "n_searches",
    "n_carts",
    "n_purchase_events",
    "n_sessions",
    "view_to_click",
    "click_to_cart",
    "cart_to_purchase",
    "view_to_purchase",
    "events_last_30d",
    "events_last_90d",
    "carts_last_30d",
    "sessions_last_30d",
    "days_since_last_event",
    "deal_search_share",
    "premium_search_share",
    "gift_search_share",
    "n_reviews",
    "avg_rating",
    "low_rating_share",
    "complaint_share",
    "days_since_last_review",
)


def _cut(as_of: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts.normalize() + pd.Timedelta(days=1)  # exclusive upper bound: the whole as_of day counts


def load_events(engine: Engine, scope: UserScope = None) -> pd.DataFrame:
    """Events as a frame (user_id, kind, ts, session_id, product_id, query) of the users of ``scope``
    (default: everyone)."""
    stmt = select(
        events.c.user_id, events.c.kind, events.c.ts, events.c.session_id, events.c.product_id, events.c.query
    )
    return read_frame(engine, scoped(stmt, events.c.user_id, scope), ["ts"])


def load_reviews(engine: Engine, scope: UserScope = None) -> pd.DataFrame:
    """Reviews as a frame (user_id, product_id, rating, text, language, created_at); scoped like ``load_events``."""
    cols = (reviews.c.user_id, reviews.c.product_id, reviews.c.rating, reviews.c.text, reviews.c.language)
    stmt = select(*cols, reviews.c.created_at)
    return read_frame(engine, scoped(stmt, reviews.c.user_id, scope), ["created_at"])


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    """num/den with 0 where den is 0 (no opportunity means no measured rate)."""
    return (num / den.where(den > 0)).fillna(0.0).clip(0.0, 1.0)


_KIND_CODES: dict[str, int] = {"view": 0, "click": 1, "search": 2, "add_to_cart": 3, "purchase": 4}


def prepare_events(events_frame: pd.DataFrame) -> pd.DataFrame:
    """Add the cut-off-independent columns once (kind code, session code, deal/premium/gift search flags), so
    that many cut-offs over the same events (training origins) do not redo the string work."""
    if "kind_code" in events_frame.columns:
        return events_frame
    ev = events_frame.copy()
    ev["kind_code"] = ev["kind"].map(_KIND_CODES).fillna(-1).astype(np.int8)
    sessions = ev["session_id"].fillna("").astype(str)
    # Events without a session id count as one session per calendar day.
    day = (ev["ts"].values.astype("datetime64[D]").astype(np.int64)).astype(str)
    key = sessions.where(sessions != "", "day-" + pd.Series(day, index=ev.index))
    ev["session_code"] = pd.factorize(key)[0]
    q = ev["query"].fillna("").astype(str)
    is_search = (ev["kind_code"] == 2) & (q != "")
    ev["is_query"] = is_search.to_numpy(dtype=bool)
    for name, pattern in (("deal", DEAL_RE), ("premium", PREMIUM_RE), ("gift", GIFT_RE)):
        flag = np.zeros(len(ev), dtype=bool)
        flag[is_search.to_numpy()] = q[is_search].str.contains(pattern).to_numpy(dtype=bool)
        ev[f"is_{name}"] = flag
    return ev


def behaviour_features(
    events_frame: pd.DataFrame,
    reviews_frame: pd.DataFrame,
    as_of: pd.Timestamp | str,
    users: pd.Index | None = None,
) -> pd.DataFrame:
    """Behaviour features per user, index ``user_id``; ``users`` reindexes (users with no activity get 0s).

    ``days_since_last_event`` / ``days_since_last_review`` are NaN for users with none (LightGBM handles NaN);
    ``avg_rating`` is NaN for users with no review.
    """
    cut = _cut(as_of)
    ev = prepare_events(events_frame) if len(events_frame) else events_frame
    ev = ev[ev["ts"] < cut] if len(ev) else ev
    rv = reviews_frame[reviews_frame["created_at"] < cut] if len(reviews_frame) else reviews_frame
    data: dict[str, pd.Series] = {}
    if len(ev):
        codes, uniq = pd.factorize(ev["user_id"])
        n = len(uniq)
        index = pd.Index(uniq, name="user_id")

        def count(mask: np.ndarray | None = None) -> pd.Series:
            c = codes if mask is None else codes[mask]
            return pd.Series(np.bincount(c, minlength=n).astype(float), index=index)

        kind = ev["kind_code"].to_numpy()
        for code, col in (
            (0, "n_views"),
            (1, "n_clicks"),
            (2, "n_searches"),
            (3, "n_carts"),
            (4, "n_purchase_events"),
        ):
            data[col] = count(kind == code)
        data["n_events"] = count()
        age = (cut - ev["ts"]).dt.total_seconds().to_numpy() / 86400.0
        recent30, recent90 = age <= 30, age <= 90
        data["events_last_30d"] = count(recent30)
        data["events_last_90d"] = count(recent90)
        data["carts_last_30d"] = count(recent30 & (kind == 3))
        sess = ev["session_code"].to_numpy()

        pair_key = codes.astype(np.int64) * (int(sess.max()) + 1) + sess  # one int per (user, session)

        def n_sessions(mask: np.ndarray | None = None) -> pd.Series:
            keys = pd.unique(pair_key if mask is None else pair_key[mask])
            return pd.Series(
                np.bincount(keys // (int(sess.max()) + 1), minlength=n).astype(float), index=index
            )

        data["n_sessions"] = n_sessions()
        data["sessions_last_30d"] = n_sessions(recent30)
        min_age = np.full(n, np.inf)
        np.minimum.at(min_age, codes, age)
        data["days_since_last_event"] = pd.Series(np.floor(min_age), index=index)
        n_q = count(ev["is_query"].to_numpy())
        for name in ("deal", "premium", "gift"):
            data[f"{name}_search_share"] = _ratio(count(ev[f"is_{name}"].to_numpy()), n_q)
    if len(rv):
        g = rv.groupby("user_id")
        data["n_reviews"] = g.size().astype(float)
        data["avg_rating"] = g["rating"].mean()
        data["low_rating_share"] = (rv["rating"] <= 2).groupby(rv["user_id"]).mean()
        text = rv["text"].fillna("").astype(str)
        data["complaint_share"] = text.str.contains(COMPLAINT_RE).groupby(rv["user_id"]).mean()
        data["days_since_last_review"] = np.floor((cut - g["created_at"].max()).dt.total_seconds() / 86400.0)
    out = pd.DataFrame(data)
    out.index.name = "user_id"
    out = out.reindex(columns=list(BEHAVIOUR_FEATURES))
    nan_ok = {"days_since_last_event", "days_since_last_review", "avg_rating"}
    zero_cols = [c for c in BEHAVIOUR_FEATURES if c not in nan_ok]
    out[zero_cols] = out[zero_cols].astype(float).fillna(0.0)
    out["view_to_click"] = _ratio(out["n_clicks"], out["n_views"])
    out["click_to_cart"] = _ratio(out["n_carts"], out["n_clicks"] + out["n_views"] * (out["n_clicks"] == 0))
    out["cart_to_purchase"] = _ratio(out["n_purchase_events"], out["n_carts"])
    out["view_to_purchase"] = _ratio(out["n_purchase_events"], out["n_views"])
    if users is not None:
        out = out.reindex(users)
        out[zero_cols] = out[zero_cols].fillna(0.0)
    return out.astype(float)
