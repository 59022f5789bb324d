"""Behaviour prediction: probability of a purchase in the next 30 days and churn risk (no purchase in the next
12 months), each a small gradient-boosted classifier with isotonic calibration, trained on the store's own earlier
windows (features to an earlier cut-off, labels from what happened after it). Likely next categories come from
``valuation.feature_matrix.likely_categories`` (recency-weighted purchases, carts and views).

The classifiers read a fixed, small set of columns: P(alive) and BG/NBD's purchase probability, recency and
frequency, recent spend and activity; a missing column (e.g. no BTYD for a non-buyer) is NaN, which the trees handle.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import roc_auc_score

from domain.models import NOT_SPEND_STATUSES

PREDICTION_FEATURES: tuple[str, ...] = (
    "p_alive",
    "bg_p_buy_30d",
    "bg_p_buy_365d",
    "bg_purchases_365d",
    "days_since_last",
    "n_purchase_days",
    "frequency",
    "tenure_days",
    "orders_per_month",
    "spend_last_90d",
    "orders_last_90d",
    "ipt_mean",
    "events_last_30d",
    "events_last_90d",
    "carts_last_30d",
    "sessions_last_30d",
    "days_since_last_event",
    "signup_age_days",
    "prof_satisfaction",
)


def _matrix(X: pd.DataFrame) -> np.ndarray:
    return X.reindex(columns=list(PREDICTION_FEATURES)).to_numpy(dtype=float)


class BehaviourClassifier:
    """One calibrated binary classifier over ``PREDICTION_FEATURES``; a constant when a class is missing.

    The engine's recipe (``lgbm-rolling-v6``): three boosters of 50 trees, one per fold, each calibrated
    (isotonic) on its held-out fold, their probabilities averaged: scoring walks 150 trees. Before, the boosters
    had 150 trees each (450 walks; the two classifiers were 900 of the 1,500 tree walks per user of
    ``score --all``) and were no better on the demo shop's hidden future (``python -m bench.behaviour_quality``).
    ``ensemble=False`` (one booster on all rows, calibrated on out-of-fold predictions; also 150 walks at 150
    trees) is the variant that benchmark measured and rejected: its churn Brier score was worse."""

    def __init__(self, name: str, *, ensemble: bool = True, n_estimators: int = 50) -> None:
        self.name = name
        self.ensemble = ensemble
        self.n_estimators = n_estimators
        self.model: CalibratedClassifierCV | None = None
        self.constant: float | None = None
        self.train_auc: float | None = None
        self.n_train = 0

    def fit(self, X: pd.DataFrame, y: pd.Series | np.ndarray) -> BehaviourClassifier:
        labels = np.asarray(y, dtype=int)
        self.n_train = len(labels)
        # A shop where everyone (or no one) bought gives one class only: predict the observed rate.
        if len(np.unique(labels)) < 2 or min(np.bincount(labels)) < 6:
            self.constant = float(labels.mean()) if len(labels) else 0.0
            return self
        # One thread: the machine is shared and OpenMP over-subscription made sklearn's HGB 20x slower here.
        base = lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=30,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            n_jobs=1,
            random_state=7,
            deterministic=True,
            force_row_wise=True,
            verbose=-1,
        )
        self.model = CalibratedClassifierCV(base, method="isotonic", cv=3, ensemble=self.ensemble)
        self.model.fit(_matrix(X), labels)
        self.train_auc = float(roc_auc_score(labels, self.model.predict_proba(_matrix(X))[:, 1]))
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        if self.constant is not None:
            return np.full(len(X), self.constant)
        if self.model is None:
            raise RuntimeError(f"the {self.name} classifier is not fitted")
        return np.clip(self.model.predict_proba(_matrix(X))[:, 1], 0.0, 1.0)


def label_purchase_within(tx: pd.DataFrame, users: pd.Index, start: pd.Timestamp, days: int) -> pd.Series:
    """1 for users with a (not returned/cancelled) purchase in the ``days`` days after ``start``, else 0."""
    lo = pd.Timestamp(start).normalize() + pd.Timedelta(days=1)
    hi = lo + pd.Timedelta(days=days)
    win = tx[(tx["date"] >= lo) & (tx["date"] < hi)]
    if "status" in win.columns:
        win = win[~win["status"].astype(str).isin(NOT_SPEND_STATUSES)]
    bought = set(win["user_id"].astype(str))
    return pd.Series([int(u in bought) for u in users], index=users, name=f"bought_{days}d")
