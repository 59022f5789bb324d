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

    Each window is ``horizon_days`` long when the calibration period allows it, otherwise as long as possible
    (ending on ``calibration_end``); cut-offs are spread between ``min_history_days`` after the first date and
    ``min_window_days`` before the calibration end. Horizon differences are handled by the engine (the BTYD
    baseline is computed for each window's own length).
    """
    earliest = first_date.normalize() + pd.Timedelta(days=min_history_days)
    latest_full = calibration_end - pd.Timedelta(days=horizon_days)
    if latest_full >= earliest:
        # Enough room for full-length windows: step back by a third of the horizon each time.
        step = pd.Timedelta(days=max(horizon_days // 3, 1))
        cuts = [latest_full - step * i for i in range(n_origins)]
        cuts = [c for c in cuts if c >= earliest]
        return [TimeSplit(c, c + pd.Timedelta(days=horizon_days)) for c in cuts]
    latest = calibration_end - pd.Timedelta(days=min_window_days)
    if latest < earliest:
        raise ValueError("the calibration period is too short for a rolling-origin training window")
    cuts = pd.date_range(earliest, latest, periods=n_origins).normalize().unique()
    return [TimeSplit(pd.Timestamp(c), calibration_end) for c in cuts]
