"""Splits for evaluation. Time always separates features (calibration period, up to and including
``calibration_end``) from targets (holdout period, the day after ``calibration_end`` to ``holdout_end``).

- ``temporal``: every customer is evaluated; a learned model cannot see any holdout target, so it is trained on
  earlier "rolling origins" inside the calibration period (features to an earlier cut-off, targets over the
  following window, which still ends by ``calibration_end``).
- ``random``: customers are split 80/20; the learned model trains on the 80%'s holdout targets and is evaluated on
  the 20% only. With ``folds=5`` (the default of ``eval value``) this is done five times over disjoint 20%s, so
  every customer is evaluated once, by a model that never saw their holdout: the same protocol with a fifth of
  the sampling noise (on the 2,357-customer CDNOW sample one 20% holds only 471 customers).
- ``stratified``: like random, but the 80/20 split is drawn within each decile of calibration-period spend, so both
  sides have the same value mix (the deciles use calibration data only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

SplitKind = Literal["temporal", "random", "stratified"]
SPLIT_KINDS: tuple[str, ...] = ("temporal", "random", "stratified")
HOLDOUT_UNCOVERED_SHARE = 0.05  # of the holdout that may lie after the last transaction


@dataclass(frozen=True)
class TimeSplit:
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp

    def __post_init__(self) -> None:
        if self.holdout_end <= self.calibration_end:
            raise ValueError(
                f"holdout end {self.holdout_end.date()} must be after calibration end {self.calibration_end.date()}"
            )

    @property
    def holdout_start(self) -> pd.Timestamp:
        return self.calibration_end + pd.Timedelta(days=1)

    @property
    def holdout_days(self) -> int:
        return int((self.holdout_end - self.calibration_end).days)

    def calibration_part(self, tx: pd.DataFrame) -> pd.DataFrame:
        """Rows dated on or before the calibration end (the only rows features may see)."""
        return tx[pd.to_datetime(tx["date"]) < self.holdout_start]

    def holdout_part(self, tx: pd.DataFrame) -> pd.DataFrame:
        d = pd.to_datetime(tx["date"])
        return tx[(d >= self.holdout_start) & (d < self.holdout_end + pd.Timedelta(days=1))]


@dataclass(frozen=True)
class CustomerSplit:
    kind: str
    train: pd.Index  # customers whose holdout targets may train the learned model
    evaluate: pd.Index  # customers every model is scored on


def customer_split(
    calibration_features: pd.DataFrame,
    kind: str,
    *,
    test_size: float = 0.2,
    seed: int = 7,
    value_col: str = "total_spend",
) -> CustomerSplit:
    """Who trains and who is evaluated. Only calibration-period features are read (for the strata)."""
    users = calibration_features.index
    if kind == "temporal":
        return CustomerSplit(kind, pd.Index([], name=users.name), users)
    if kind not in SPLIT_KINDS:
        raise ValueError(f"split must be one of {SPLIT_KINDS}, got {kind!r}")
    if not 0 < test_size < 1:
        raise ValueError("test_size must be between 0 and 1")
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(users), dtype=bool)
    if kind == "random":
        n_test = round(len(users) * test_size)
        is_test[rng.permutation(len(users))[:n_test]] = True
    else:
        deciles = _deciles(calibration_features, value_col)
        for d in range(10):
            members = np.flatnonzero(deciles == d)
            n_test = round(len(members) * test_size)
            is_test[rng.permutation(members)[:n_test]] = True
    return CustomerSplit(kind, users[~is_test], users[is_test])


def _deciles(calibration_features: pd.DataFrame, value_col: str) -> np.ndarray:
    ranks = calibration_features[value_col].rank(method="first").to_numpy()
    return np.minimum(((ranks - 1) / len(calibration_features) * 10).astype(int), 9)


def customer_folds(
    calibration_features: pd.DataFrame,
    kind: str,
    *,
    folds: int = 5,
    seed: int = 7,
    value_col: str = "total_spend",
) -> list[CustomerSplit]:
    """``folds`` disjoint evaluation sets covering every customer (each one trained on the others); with
    ``folds=1``, or for ``temporal``, the single split of ``customer_split``."""
    if kind == "temporal" or folds <= 1:
        return [customer_split(calibration_features, kind, seed=seed, value_col=value_col)]
    if kind not in SPLIT_KINDS:
        raise ValueError(f"split must be one of {SPLIT_KINDS}, got {kind!r}")
    users = calibration_features.index
    if len(users) < folds:
        raise ValueError(f"{len(users)} customers cannot make {folds} folds")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(users), dtype=int)
    if kind == "random":
        fold[rng.permutation(len(users))] = np.arange(len(users)) % folds
    else:  # stratified: deal each value decile's customers round-robin over the folds
        deciles = _deciles(calibration_features, value_col)
        for d in range(10):
            members = rng.permutation(np.flatnonzero(deciles == d))
            fold[members] = (np.arange(len(members)) + d) % folds
    return [CustomerSplit(kind, users[fold != k], users[fold == k]) for k in range(folds)]


def rolling_origins(
    first_date: pd.Timestamp,
    calibration_end: pd.Timestamp,
    horizon_days: int,
    *,
    n_origins: int = 3,
    min_history_days: int = 60,
    min_window_days: int = 60,
) -> list[TimeSplit]:
    """Earlier (cut-off, window end) pairs that lie entirely inside the calibration period.

    Each window is ``horizon_days`` long when the calibration period allows it. Otherwise (a holdout as long as the
    calibration period, or longer) the windows end on ``calibration_end`` and are scaled to the horizon: 1/3, 1/2
    and 2/3 of it, each capped so that its cut-off leaves ``min_history_days`` of history (the later part of the
    calibration period, where tenures are closest to those at the real cut-off); windows shorter than
    ``min_window_days`` are dropped. Horizon differences are handled by the engine (the BTYD baseline is computed
    for each window's own length). Raises ValueError, naming the dates, when no window fits.
    """
    earliest = first_date.normalize() + pd.Timedelta(days=min_history_days)
    latest_full = calibration_end - pd.Timedelta(days=horizon_days)
    if latest_full >= earliest:
        # Enough room for full-length windows: step back by a third of the horizon each time.
        step = pd.Timedelta(days=max(horizon_days // 3, 1))
        cuts = [latest_full - step * i for i in range(n_origins)]
        cuts = [c for c in cuts if c >= earliest]
        return [TimeSplit(c, c + pd.Timedelta(days=horizon_days)) for c in cuts]
    room = (calibration_end - earliest).days
    lengths = sorted(
        {min(round(horizon_days * f), room) for f in np.linspace(1 / 3, 2 / 3, n_origins)}, reverse=True
    )
    lengths = [d for d in lengths if d >= min_window_days]
    if not lengths:
        raise ValueError(
            f"the calibration period is too short for a rolling-origin training window: data from "
            f"{first_date.date()} to the calibration end {calibration_end.date()} leaves {max(room, 0)} days after "
            f"{min_history_days} days of history, and a window needs at least {min_window_days}"
        )
    return [TimeSplit(calibration_end - pd.Timedelta(days=d), calibration_end) for d in lengths]


def check_dates(tx: pd.DataFrame, times: TimeSplit, *, holdout_from_data: bool = True) -> None:
    """Clear errors, naming the dates, for settings no model can be evaluated on: no customer buying by the
    calibration end, a calibration end at or after the last transaction, or a holdout ending well after the data
    (its unseen days would count as no purchases; up to ``HOLDOUT_UNCOVERED_SHARE`` of it is tolerated, since a
    shop's last order need not fall on the holdout's last day). ``holdout_from_data=False`` when the holdout's targets come
    from elsewhere (the demo's hidden next year)."""
    if len(tx) == 0:
        raise ValueError("the dataset holds no transactions")
    dates = pd.to_datetime(tx["date"])
    first, last = dates.min().normalize(), dates.max().normalize()
    cal, hold = times.calibration_end.date(), times.holdout_end.date()
    if times.calibration_end < first:
        raise ValueError(
            f"no calibration data: the calibration end {cal} is before the first transaction {first.date()}"
        )
    if not holdout_from_data:
        return
    if times.calibration_end >= last:
        raise ValueError(
            f"no holdout data: the calibration end {cal} is on or after the last transaction {last.date()}"
        )
    if (times.holdout_end - last).days > HOLDOUT_UNCOVERED_SHARE * times.holdout_days:
        raise ValueError(
            f"the holdout end {hold} is beyond the data, which ends on {last.date()}: choose a holdout end on or "
            f"before it"
        )
