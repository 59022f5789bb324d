"""The engine's data and feature matrix: everything the service needs from the store, as frames, and the one
function that turns them into model features as of any cut-off (used for training origins and for scoring).

Columns of the matrix: transaction features (``valuation.features``), rate features (spend and orders per 30 days
of tenure, which transfer between training origins with short histories and scoring with a long one), BTYD outputs
(``valuation.btyd``, fitted on the same cut-off), behaviour features (``valuation.behaviour``), sign-up age, and the
rule profile (``valuation.profile``; dropped with ``with_profile=False`` for the no-profile ablation).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from domain.store.repository import UserScope, read_frame, scoped, transactions_frame
from domain.store.schema import events, orders, products, users
from valuation.behaviour import behaviour_features, load_events, load_reviews, prepare_events
from valuation.btyd import BtydModels, btyd_features
from valuation.features import normalise_transactions, transaction_features
from valuation.profile import PROFILE_FEATURES, rule_profile_features

log = logging.getLogger(__name__)

HORIZONS_DAYS: dict[str, float] = {"30d": 30.0, "365d": 365.0}


@dataclass
class ShopData:
    """The store, as frames: order lines (``date`` column), events, reviews, users, products."""

    tx: pd.DataFrame
    events: pd.DataFrame
    reviews: pd.DataFrame
    users: pd.DataFrame  # index user_id; signup_at, language
    products: pd.DataFrame  # index product_id; category, brand, price_tier, title_en, title_zh

    @property
    def last_date(self) -> pd.Timestamp:
        dates = [self.tx["date"].max()] if len(self.tx) else []
        if len(self.events):
            dates.append(self.events["ts"].max())
        if not dates:
            raise ValueError("the store holds no orders or events: ingest data first (`shopguide data demo`)")
        return pd.Timestamp(max(dates)).normalize()

    @property
    def first_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.tx["date"].min()).normalize()


def _transactions(engine: Engine, scope: UserScope = None) -> pd.DataFrame:
    """Order lines (``date`` column) of the users of ``scope`` (default: everyone)."""
    tx = transactions_frame(engine, scope=scope)
    if len(tx):
        return normalise_transactions(tx)
    out = tx.rename(columns={"created_at": "date"})
    out["date"] = pd.to_datetime(out["date"])
    return out


# ``domain.store.repository.transactions_frame``'s columns.
TX_COLUMNS: tuple[str, ...] = (
    "user_id", "order_id", "created_at", "status", "product_id", "category", "price_tier", "brand", "quantity",
    "unit_price", "discount", "amount",
)  # fmt: skip


def transactions_from_lines(lines: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """What ``_transactions`` reads from the store, built from order lines joined to their order (user_id,
    order_id, created_at, status, line_no, product_id, quantity, unit_price, discount, amount) and the product
    frame (index product_id): the same columns, the same order, a ``date`` column."""
    attrs = products[["category", "price_tier", "brand"]]
    tx = lines.join(attrs, on="product_id", how="inner")
    tx = tx.sort_values(["created_at", "order_id", "line_no"], kind="stable", ignore_index=True)
    tx = tx[list(TX_COLUMNS)]
    if len(tx):
        return normalise_transactions(tx)
    out = tx.rename(columns={"created_at": "date"})
    out["date"] = pd.to_datetime(out["date"])
    return out


def load_shop_data(engine: Engine, scope: UserScope = None) -> ShopData:
    """Everything at once (training, and the demo-sized batch), or the slice of the users of ``scope`` (the
    streamed batch reads one id range at a time; training on a big store reads a sample)."""
    user_stmt = select(users.c.user_id, users.c.signup_at, users.c.language)
    user_frame = read_frame(engine, scoped(user_stmt, users.c.user_id, scope), ["signup_at"]).set_index(
        "user_id"
    )
    with engine.connect() as conn:
        product_rows = conn.execute(
            select(
                products.c.product_id,
                products.c.category,
                products.c.brand,
                products.c.price_tier,
                products.c.title_en,
                products.c.title_zh,
            )
        ).fetchall()
    product_frame = pd.DataFrame(
        product_rows, columns=["product_id", "category", "brand", "price_tier", "title_en", "title_zh"]
    ).set_index("product_id")
    return ShopData(
        tx=_transactions(engine, scope),
        events=prepare_events(load_events(engine, scope)),
        reviews=load_reviews(engine, scope),
        users=user_frame,
        products=product_frame,
    )


def last_activity_day(engine: Engine) -> pd.Timestamp | None:
    """The day of the store's last order or event (the as-of date of a training run), from two index lookups."""
    with engine.connect() as conn:
        last = [
            conn.execute(select(func.max(orders.c.created_at))).scalar(),
            conn.execute(select(func.max(events.c.ts))).scalar(),
        ]
    days = [pd.Timestamp(d) for d in last if d is not None]
    return max(days).normalize() if days else None


def _rate_features(feats: pd.DataFrame) -> pd.DataFrame:
    months = np.maximum(feats["tenure_days"].to_numpy(float), 30.0) / 30.0
    return pd.DataFrame(
        {
            "spend_per_month": feats["total_spend"].to_numpy(float) / months,
            "orders_per_month": feats["n_purchase_days"].to_numpy(float) / months,
        },
        index=feats.index,
    )


def _tx_features(tx: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Transaction features (``valuation.features``), or an empty frame for a store without orders."""
    return transaction_features(tx, as_of) if len(tx) else pd.DataFrame()


def feature_matrix(
    data: ShopData,
    as_of: pd.Timestamp,
    *,
    btyd: BtydModels | None = None,
    user_ids: pd.Index | None = None,
    with_profile: bool = True,
) -> tuple[pd.DataFrame, BtydModels]:
    """Features of every user registered by ``as_of`` (or ``user_ids``); BTYD is fitted here unless given.

    Returns the matrix (index user_id, float columns, NaN where undefined, e.g. P(alive) of a non-buyer) and the
    BTYD models used (so scoring reuses the ones fitted at training time).
    """
    as_of = pd.Timestamp(as_of).normalize()
    if user_ids is None:
        user_ids = data.users.index[data.users["signup_at"] < as_of + pd.Timedelta(days=1)]
    user_ids = pd.Index(user_ids, name="user_id")
    tx_feats = _tx_features(data.tx, as_of)
    if btyd is None:
        btyd = BtydModels.fit(tx_feats)
    bt = btyd_features(tx_feats, btyd, HORIZONS_DAYS) if len(tx_feats) else pd.DataFrame()
    beh = behaviour_features(data.events, data.reviews, as_of, users=user_ids)
    parts = [p for p in (tx_feats, _rate_features(tx_feats) if len(tx_feats) else None, bt) if p is not None]
    parts = [p for p in parts if len(p.columns)]
    frame = pd.concat(parts, axis=1).reindex(user_ids) if parts else pd.DataFrame(index=user_ids)
    signup = data.users["signup_at"].reindex(user_ids)
    frame["signup_age_days"] = ((as_of - signup).dt.days).astype(float).to_numpy()
    # A non-buyer has zero purchases and spend (other purchase features stay NaN: undefined, not zero).
    for col in (
        "n_purchase_days",
        "total_spend",
        "frequency",
        "spend_last_90d",
        "spend_last_365d",
        "orders_last_90d",
    ):
        frame[col] = frame[col].fillna(0.0) if col in frame.columns else 0.0
    frame = frame.join(beh)
    if with_profile:
        frame = frame.join(rule_profile_features(frame))
    return frame.astype(float), btyd


def one_user_data(engine: Engine, user_id: str) -> ShopData | None:
    """One user's slice of the store (None when the user does not exist): the on-demand scoring path."""
    with engine.connect() as conn:
        row = conn.execute(
            select(users.c.user_id, users.c.signup_at, users.c.language).where(users.c.user_id == user_id)
        ).first()
        if row is None:
            return None
        product_rows = conn.execute(select(products.c.product_id, products.c.category)).fetchall()
    user_frame = pd.DataFrame([tuple(row)], columns=["user_id", "signup_at", "language"]).set_index("user_id")
    user_frame["signup_at"] = pd.to_datetime(user_frame["signup_at"])
    product_frame = pd.DataFrame(product_rows, columns=["product_id", "category"]).set_index("product_id")
    return ShopData(
        tx=_transactions(engine, [user_id]),
        events=prepare_events(load_events(engine, [user_id])),
        reviews=load_reviews(engine, [user_id]),
        users=user_frame,
        products=product_frame,
    )


def drop_profile(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=[c for c in PROFILE_FEATURES if c in frame.columns])


def likely_categories(
    data: ShopData, as_of: pd.Timestamp, k: int = 3, half_life_days: float = 90.0
) -> pd.Series:
    """Per user, the ``k`` categories with the highest recency-weighted interest: purchases weigh 3, add-to-cart
    2, clicks 1, views 0.5, each decayed by ``0.5 ** (age / half_life_days)``. Users with no signal: []."""
    cut = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    cats = data.products["category"]
    tx = data.tx[data.tx["date"] < cut]
    bought = pd.DataFrame(
        {
            "user_id": tx["user_id"],
            "category": tx["category"] if "category" in tx else tx["product_id"].map(cats),
            "age": (cut - tx["date"]).dt.days,
            "w": 3.0,
        }
    )
    ev = data.events[(data.events["ts"] < cut) & data.events["product_id"].notna()]
    kind_w = ev["kind"].map({"add_to_cart": 2.0, "click": 1.0, "view": 0.5}).fillna(0.0)
    seen = pd.DataFrame(
        {
            "user_id": ev["user_id"],
            "category": ev["product_id"].map(cats),
            "age": (cut - ev["ts"]).dt.days,
            "w": kind_w,
        }
    )
    both = pd.concat([bought, seen], ignore_index=True).dropna(subset=["category"])
    both = both[both["w"] > 0]
    both["score"] = both["w"] * np.power(0.5, both["age"].astype(float) / half_life_days)
    per = both.groupby(["user_id", "category"], sort=False)["score"].sum().reset_index()
    per = per.sort_values(["user_id", "score", "category"], ascending=[True, False, True])
    top = per.groupby("user_id", sort=False).head(k)
    # Sorted by user: each user's categories are one run (cutting runs beats a per-group Python aggregate).
    owners, names = top["user_id"].to_numpy(dtype=object), top["category"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.array([], int)
    bounds = np.r_[starts, len(owners)]
    # Slices of one Python list: a slice and a tolist() of the array per user cost several times more.
    flat = names.tolist()
    lists = [flat[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]
    return pd.Series(lists, index=pd.Index(owners[starts], name="user_id"), dtype=object, name="category")
