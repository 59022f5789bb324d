"""Per-user features as of a cut-off date, computed for all users at once (pandas groupby + numpy).

Input is a transaction frame with at least ``user_id``, a date column (``date``, ``created_at`` or ``ts``) and
``amount``. Optional columns add features when present: ``order_id``, ``category``, ``price_tier``,
``discount`` (money off), ``status`` (returned / cancelled lines count as returns, not as purchases), ``quantity``.

Conventions (the BTYD ones, so that BG/NBD and Gamma-Gamma can be fitted straight from this frame):
- purchases on the same calendar day are merged into one transaction;
- ``frequency`` = number of repeat purchase days (distinct purchase days - 1);
- ``recency`` = time from the first to the last purchase day, ``T`` = time from the first purchase day to the
  cut-off; both in days (``freq="D"``) or weeks (``freq="W"``, days / 7, as in the CDNOW papers);
- ``monetary`` = mean value of the repeat purchase days (0 when there is none), Gamma-Gamma's input.
Only rows dated on or before ``as_of`` (whole day included) are used: nothing after the cut-off can leak in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from domain.models import NOT_SPEND_STATUSES

DATE_COLUMNS: tuple[str, ...] = ("date", "created_at", "ts")
PRICE_TIER_RANK: dict[str, int] = {"budget": 0, "mid": 1, "premium": 2, "luxury": 3}
WINDOWS_DAYS: tuple[int, ...] = (90, 180, 365)
_UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0}

# Columns always produced, in order (optional-column features are appended after them).
CORE_FEATURES: tuple[str, ...] = (
    "frequency",
    "recency",
    "T",
    "monetary",
    "n_purchase_days",
    "total_spend",
    "first_spend",
    "last_spend",
    "max_day_spend",
    "avg_order_value",
    "days_since_last",
    "tenure_days",
    "ipt_mean",
    "ipt_std",
    "spend_trend",
    "repeat_rate",
    "recency_share",
    "rfm_rate",
    *(f"spend_last_{w}d" for w in WINDOWS_DAYS),
    *(f"orders_last_{w}d" for w in WINDOWS_DAYS),
)


def normalise_transactions(tx: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with a ``date`` (datetime64) column, string ``user_id`` and float ``amount``."""
    missing = {"user_id", "amount"} - set(tx.columns)
    date_col = next((c for c in DATE_COLUMNS if c in tx.columns), None)
    if missing or date_col is None:
        need = sorted(missing | ({"date"} if date_col is None else set()))
        raise ValueError(f"transaction frame lacks column(s) {need}; has {list(tx.columns)}")
    out = tx.copy()
    if date_col != "date":
        out = out.rename(columns={date_col: "date"})
    try:
        # Parsed already (the store's reader parses dates once): a second pass costs and changes nothing.
        if not pd.api.types.is_datetime64_any_dtype(out["date"]):
            out["date"] = pd.to_datetime(out["date"])
    except ValueError:  # strings in more than one layout (e.g. with and without a time)
        out["date"] = pd.to_datetime(out["date"], format="mixed")
    if getattr(out["date"].dt, "tz", None) is not None:
        out["date"] = out["date"].dt.tz_convert(None)
    out["user_id"] = out["user_id"].astype(str)
    out["amount"] = pd.to_numeric(out["amount"], errors="raise").astype(float)
    return out


def _cutoff(as_of: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(None)
    return ts.normalize()


def transaction_features(tx: pd.DataFrame, as_of: pd.Timestamp | str, *, freq: str = "D") -> pd.DataFrame:
    """Features of every user with at least one purchase on or before ``as_of``; index ``user_id``."""
    if freq not in _UNIT_DAYS:
        raise ValueError(f"freq must be one of {sorted(_UNIT_DAYS)}, got {freq!r}")
    unit = _UNIT_DAYS[freq]
    cut = _cutoff(as_of)
    tx = normalise_transactions(tx)
    tx = tx[tx["date"] < cut + pd.Timedelta(days=1)]
    # Users as sorted integer codes, factorised once: every groupby below hashes and sorts ints, not strings.
    uid, user_ids = pd.factorize(tx["user_id"], sort=True)
    tx = tx.assign(day=tx["date"].dt.normalize(), uid=uid)
    if "status" in tx.columns:
        is_return = tx["status"].astype(str).str.lower().isin(NOT_SPEND_STATUSES)
    else:
        is_return = pd.Series(False, index=tx.index)
    bought = tx[~is_return]
    if bought.empty:
        return pd.DataFrame(columns=list(CORE_FEATURES), index=pd.Index([], name="user_id"), dtype=float)

    # One row per (user, purchase day): the unit BG/NBD counts.
    daily = bought.groupby(["uid", "day"], sort=True, observed=True)["amount"].sum().reset_index()
    day_num = ((daily["day"] - cut).dt.days).to_numpy(dtype=float)  # <= 0, days before the cut-off
    amount = daily["amount"].to_numpy(dtype=float)
    codes, buyer_uid = pd.factorize(daily["uid"], sort=False)  # daily is sorted by user, so codes are runs
    users = user_ids[buyer_uid]
    n = len(users)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)] - 1
    counts = np.bincount(codes, minlength=n).astype(float)
    total = np.bincount(codes, weights=amount, minlength=n)
    first_day, last_day = day_num[starts], day_num[ends]
    first_amt, last_amt = amount[starts], amount[ends]
    frequency = counts - 1.0
    repeat_total = total - first_amt
    monetary = np.divide(repeat_total, frequency, out=np.zeros(n), where=frequency > 0)

    # Inter-purchase gaps in days, within each user's run of purchase days.
    gaps = np.diff(day_num)
    same_user = codes[1:] == codes[:-1]
    gap_codes, gap_vals = codes[1:][same_user], gaps[same_user]
    gap_n = np.bincount(gap_codes, minlength=n).astype(float)
    gap_sum = np.bincount(gap_codes, weights=gap_vals, minlength=n)
    gap_sq = np.bincount(gap_codes, weights=gap_vals**2, minlength=n)
    ipt_mean = np.divide(gap_sum, gap_n, out=np.full(n, np.nan), where=gap_n > 0)
    ipt_var = np.divide(gap_sq, gap_n, out=np.full(n, np.nan), where=gap_n > 0) - ipt_mean**2
    ipt_std = np.sqrt(np.clip(ipt_var, 0.0, None))

    # Spend trend: spend in the later half of the user's tenure minus the earlier half, over total spend.
    tenure = -first_day
    midpoint = (first_day / 2.0)[codes]
    later = np.bincount(codes, weights=np.where(day_num > midpoint, amount, 0.0), minlength=n)
    later_share = np.divide(later, total, out=np.zeros(n), where=total > 0)
    spend_trend = np.where(tenure > 0, 2.0 * later_share - 1.0, 0.0)

    data: dict[str, np.ndarray] = {
        "frequency": frequency,
        "recency": (last_day - first_day) / unit,
        "T": -first_day / unit,
        "monetary": monetary,
        "n_purchase_days": counts,
        "total_spend": total,
        "first_spend": first_amt,
        "last_spend": last_amt,
        "max_day_spend": np.maximum.reduceat(amount, starts),
        "avg_order_value": total / counts,
        "days_since_last": -last_day,
        "tenure_days": tenure,
        "ipt_mean": ipt_mean,
        "ipt_std": ipt_std,
        "spend_trend": spend_trend,
        # Scale-free versions of the RFM triple: comparable between customers (and cut-offs) of any tenure.
        "repeat_rate": np.divide(frequency, -first_day / unit, out=np.zeros(n), where=first_day < 0),
        "recency_share": np.divide(last_day - first_day, -first_day, out=np.zeros(n), where=first_day < 0),
    }
    data["rfm_rate"] = data["repeat_rate"] * data["recency_share"]
    for w in WINDOWS_DAYS:
        recent = day_num > -w
        data[f"spend_last_{w}d"] = np.bincount(codes, weights=np.where(recent, amount, 0.0), minlength=n)
    for w in WINDOWS_DAYS:
        data[f"orders_last_{w}d"] = np.bincount(codes, weights=(day_num > -w).astype(float), minlength=n)
    feats = pd.DataFrame(data, index=pd.Index(users, name="user_id"))
    optional = _optional_features(tx, is_return, pd.Index(buyer_uid)).set_axis(feats.index)
    overlap = [c for c in optional.columns if c in feats.columns]  # e.g. per-order AOV replaces per-day AOV
    feats[overlap] = optional[overlap]
    return feats.join(optional.drop(columns=overlap), how="left")


def _optional_features(tx: pd.DataFrame, is_return: pd.Series, users: pd.Index) -> pd.DataFrame:
    """Features from the optional columns; only the ones whose source column exists are produced. Users are
    the integer codes of ``tx["uid"]``."""
    out = pd.DataFrame(index=users)
    bought = tx[~is_return]
    by_user = bought.groupby("uid", observed=True)
    if "order_id" in tx.columns:
        n_orders = by_user["order_id"].nunique()
        out["n_orders"] = n_orders
        out["avg_order_value"] = by_user["amount"].sum() / n_orders  # per order, not per day, when known
    if "quantity" in tx.columns:
        days = by_user["day"].nunique()
        out["items_per_day"] = (
            pd.to_numeric(bought["quantity"], errors="coerce").groupby(bought["uid"]).sum() / days
        )
    if "discount" in tx.columns:
        disc = pd.to_numeric(bought["discount"], errors="coerce").fillna(0.0)
        gross = bought["amount"] + disc
        sums = pd.DataFrame({"uid": bought["uid"], "disc": disc, "gross": gross}).groupby("uid")
        agg = sums.sum()
        out["discount_share"] = (agg["disc"] / agg["gross"].where(agg["gross"] > 0)).fillna(0.0)
        out["discounted_line_share"] = (disc > 0).groupby(bought["uid"]).mean()
    if "price_tier" in tx.columns:
        rank = bought["price_tier"].astype(str).str.lower().map(PRICE_TIER_RANK)
        out["price_tier_mean"] = rank.groupby(bought["uid"]).mean()
        out["price_tier_max"] = rank.groupby(bought["uid"]).max()
    if "category" in tx.columns:
        out["category_breadth"] = by_user["category"].nunique()
    if "status" in tx.columns:
        lines = tx.groupby("uid", observed=True)
        out["return_share"] = is_return.groupby(tx["uid"]).mean()
        returned_amount = tx["amount"].where(is_return, 0.0).groupby(tx["uid"]).sum()
        out["return_amount_share"] = returned_amount / lines["amount"].sum().where(lambda s: s > 0)
    out = out.reindex(users)
    fill_zero = [c for c in out.columns if c not in ("price_tier_mean", "price_tier_max")]
    out[fill_zero] = out[fill_zero].fillna(0.0)
    return out.astype(float)


def features_for_user(tx_user: pd.DataFrame, as_of: pd.Timestamp | str, *, freq: str = "D") -> pd.Series:
    """Features of one user (the same columns as ``transaction_features``); a user with no purchase gets zeros."""
    feats = transaction_features(tx_user, as_of, freq=freq)
    if len(feats) > 1:
        raise ValueError(f"features_for_user got transactions of {len(feats)} users")
    if feats.empty:
        uid = str(tx_user["user_id"].iloc[0]) if len(tx_user) else ""
        return pd.Series(0.0, index=list(CORE_FEATURES), name=uid)
    return feats.iloc[0]


def holdout_targets(
    tx: pd.DataFrame, start: pd.Timestamp | str, end: pd.Timestamp | str, users: pd.Index | None = None
) -> pd.DataFrame:
    """Per-user purchases (distinct purchase days) and spend in the window [start, end], both days inclusive.

    Returned lines are excluded, as in the features. ``users`` reindexes the result (missing users get zeros).
    """
    tx = normalise_transactions(tx)
    lo, hi = _cutoff(start), _cutoff(end) + pd.Timedelta(days=1)
    win = tx[(tx["date"] >= lo) & (tx["date"] < hi)]
    if "status" in win.columns:
        win = win[~win["status"].astype(str).str.lower().isin(NOT_SPEND_STATUSES)]
    daily = win.assign(day=win["date"].dt.normalize()).groupby(["user_id", "day"])["amount"].sum()
    g = daily.groupby(level="user_id")
    out = pd.DataFrame({"purchases": g.size().astype(float), "spend": g.sum()})
    out.index.name = "user_id"
    if users is not None:
        out = out.reindex(users, fill_value=0.0)
    return out
