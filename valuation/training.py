"""Training the engine on the store's own history with rolling origins, and scoring the whole population.

Rolling origins: for each window W in ``WINDOWS_DAYS`` that fits in the data, features are computed as of
``as_of - W`` and the target is the spend (and purchase days) over the following W days, annualised (x 365 / W),
so every origin teaches "value over the next 12 months" and the shorter windows use longer, more recent
histories, closer to what the model sees at scoring time. Nothing after an origin enters its features.

The value model is the recipe ``shopguide eval value`` measures, ``valuation.final_engine.fit_engine``: a LightGBM
correction of BG/NBD x Gamma-Gamma's 12-month prediction (its log as the starting score), its blend weights
against BTYD per target and its tree size chosen by an out-of-fold backtest on the most recent origin (where the
learned model does not beat BTYD, the score ranks by BTYD), the amounts at their own weight and rescaled so that
the training windows' predicted total matches their actual total. Why one recipe: the figures `eval value`
reports are then the ones of the engine the shop runs. The score is the population percentile of the ranking.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuation.blending import BlendWeights
from valuation.btyd import BtydModels
from valuation.feature_matrix import ShopData, drop_profile, feature_matrix, likely_categories
from valuation.features import holdout_targets
from valuation.final_engine import EngineFrame, FinalEngine, fit_engine
from valuation.learned import ValueModel
from valuation.prediction import BehaviourClassifier, label_purchase_within
from valuation.profile import rule_price_sensitivity
from valuation.ranking import SpendRanking
from valuation.segments import assign_segments

log = logging.getLogger(__name__)

WINDOWS_DAYS: tuple[int, ...] = (180, 270, 365)
MIN_HISTORY_DAYS = 60
NEXT_PURCHASE_ORIGINS_DAYS: tuple[int, ...] = (30, 60, 90)
HORIZON_DAYS = 365.0  # the score is about the next 12 months
# BTYD's 12-month prediction per target (feature_matrix's columns): the engine's baseline.
BASELINE: dict[str, str] = {"spend": "btyd_spend_365d", "purchases": "bg_purchases_365d"}
# Bump when features, targets or the recipe change: a saved engine of another version is retrained, not reused.
# v5: the spend ranking mixes in the RFM heuristic's percentile (``valuation.ranking``); v6: the behaviour
# classifiers' fold boosters have 50 trees, not 150 (``valuation.prediction``); v7: the amount weight is chosen on
# a trimmed backtest RMSE (``valuation.blending.BacktestSet.rmse_ratio``).
ENGINE_NAME = "lgbm-rolling-v7"


@dataclass
class TrainedEngine:
    value_model: ValueModel
    next_purchase: BehaviourClassifier
    churn: BehaviourClassifier
    as_of: pd.Timestamp
    with_profile: bool
    version: str
    meta: dict[str, Any] = field(default_factory=dict)
    blend: BlendWeights = field(default_factory=BlendWeights)
    fallback_margin: dict[str, float] = field(default_factory=dict)
    spend_ranking: SpendRanking = field(default_factory=SpendRanking)

    @property
    def engine(self) -> FinalEngine:
        """The fitted final engine (its parts are kept apart so the booster is saved as JSON)."""
        return FinalEngine(
            model=self.value_model,
            columns=list(self.value_model.feature_names),
            blend=self.blend,
            fallback_margin=self.fallback_margin,
            spend_ranking=self.spend_ranking,
        )


def _origin_frame(
    data: ShopData,
    origin: pd.Timestamp,
    window: int,
    cache: dict[pd.Timestamp, pd.DataFrame],
    with_profile: bool,
) -> EngineFrame:
    if origin not in cache:
        cache[origin] = feature_matrix(data, origin, with_profile=with_profile)[0]
    X = cache[origin]
    y = holdout_targets(
        data.tx, origin + pd.Timedelta(days=1), origin + pd.Timedelta(days=window), users=X.index
    )
    return EngineFrame(X, None, HORIZON_DAYS, y * (365.0 / window), origin, BASELINE)


def training_windows(data: ShopData, as_of: pd.Timestamp) -> list[int]:
    """The rolling-origin windows (days) that fit in the data up to ``as_of``; the longest is the churn window."""
    first = data.first_date
    windows = [
        w for w in WINDOWS_DAYS if as_of - pd.Timedelta(days=w) >= first + pd.Timedelta(days=MIN_HISTORY_DAYS)
    ]
    if not windows:
        span = (as_of - first).days
        windows = [max(30, span // 2)] if span >= 60 else []
    if not windows:
        raise ValueError(f"only {(as_of - first).days} days of orders: the engine needs at least 60")
    return windows


def train_engine(
    data: ShopData, as_of: pd.Timestamp | None = None, *, with_profile: bool = True
) -> TrainedEngine:
    """Fit the value engine and the behaviour classifiers on ``data`` up to ``as_of``."""
    as_of = pd.Timestamp(as_of or data.last_date).normalize()
    windows = training_windows(data, as_of)
    cache: dict[pd.Timestamp, pd.DataFrame] = {}
    frames = [_origin_frame(data, as_of - pd.Timedelta(days=w), w, cache, with_profile) for w in windows]
    engine = fit_engine(frames)
    model = engine.model
    spend = engine.blend.spend
    meta: dict[str, Any] = {"windows_days": windows, "n_train_rows": sum(len(f.X) for f in frames)}
    meta["backtest"] = {
        "origin_days_before": min(windows),
        "n_backtest": spend.n_backtest if spend is not None else 0,
        "leaves_gain": engine.blend.leaves_gain,
        **engine.calibration,
    }
    meta["blend"] = engine.blend.summary()

    churn_window = max(windows)
    next_purchase, churn = fit_behaviour(data, as_of, churn_window, cache, with_profile=with_profile)
    meta.update(
        {
            "next_purchase_train_auc": next_purchase.train_auc,
            "churn_train_auc": churn.train_auc,
            "churn_window_days": churn_window,
            "feature_names": model.feature_names,
        }
    )
    digest = hashlib.sha256(
        f"{ENGINE_NAME}|{as_of.date()}|{meta['n_train_rows']}|{model.feature_names}".encode()
    )
    version = f"{ENGINE_NAME}-{as_of:%Y%m%d}-{digest.hexdigest()[:8]}"
    return TrainedEngine(
        model,
        next_purchase,
        churn,
        as_of,
        with_profile,
        version,
        meta,
        engine.blend,
        engine.fallback_margin,
        engine.spend_ranking,
    )


def fit_behaviour(
    data: ShopData,
    as_of: pd.Timestamp,
    churn_window: int,
    cache: dict[pd.Timestamp, pd.DataFrame],
    *,
    with_profile: bool = True,
    ensemble: bool = True,
    n_estimators: int = 50,
) -> tuple[BehaviourClassifier, BehaviourClassifier]:
    """(next purchase within 30 days, churn) classifiers of data up to ``as_of``. Next purchase: three monthly
    origins. Churn: no purchase within ``churn_window`` days (12 months, or the longest window that fits) of
    the origin that far back. ``cache`` holds feature matrices by origin (shared with the value model's)."""
    first = data.first_date

    def features(origin: pd.Timestamp) -> pd.DataFrame:
        if origin not in cache:
            cache[origin] = feature_matrix(data, origin, with_profile=with_profile)[0]
        return cache[origin]

    nx, ny = [], []
    for d in NEXT_PURCHASE_ORIGINS_DAYS:
        origin = as_of - pd.Timedelta(days=d)
        if origin < first + pd.Timedelta(days=MIN_HISTORY_DAYS):
            continue
        nx.append(features(origin))
        ny.append(label_purchase_within(data.tx, nx[-1].index, origin, 30))
    next_purchase = BehaviourClassifier("next_purchase_30d", ensemble=ensemble, n_estimators=n_estimators)
    if nx:
        next_purchase.fit(pd.concat(nx), pd.concat(ny))
    origin = as_of - pd.Timedelta(days=churn_window)
    X_ch = features(origin)
    churned = 1 - label_purchase_within(data.tx, X_ch.index, origin, churn_window)
    churn = BehaviourClassifier("churn", ensemble=ensemble, n_estimators=n_estimators)
    return next_purchase, churn.fit(X_ch, churned)


def percentile_scores(values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile in [0, 100]: the share of the population predicted below, ties split evenly."""
    return reference_percentiles(np.sort(values), values)


def reference_percentiles(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mid-rank percentile of each value within the sorted ``reference`` (the trained population's raw
    predictions): equal to ``percentile_scores`` for the population itself, and the same scale for anyone else
    (a new user, a chunk of a streamed batch)."""
    left = np.searchsorted(reference, values, "left")
    right = np.searchsorted(reference, values, "right")
    mid = (left + right) / 2.0
    return np.round(np.clip(100.0 * mid / max(len(reference), 1), 0.0, 100.0), 2)


def score_frame(trained: TrainedEngine, X: pd.DataFrame) -> pd.DataFrame:
    """Every model output for the rows of ``X`` (no score: percentiles need the population)."""
    return scored_and_explained(trained, X, explain=False)[0]


def scored_and_explained(
    trained: TrainedEngine, X: pd.DataFrame, *, explain: bool
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``score_frame`` and, with ``explain``, the spend model's path contributions (the reasons), from the same
    walk of the spend trees as the predictions (else None)."""
    Xm = X if trained.with_profile else drop_profile(X)
    # A one-user frame lacks the columns of features nobody in it has (e.g. a non-buyer): undefined = NaN.
    Xm = Xm.reindex(columns=list(dict.fromkeys([*trained.value_model.feature_names, *Xm.columns])))
    frame = EngineFrame(Xm, None, HORIZON_DAYS, baseline=BASELINE)
    pred, contributions = (
        trained.engine.predict_explained(frame) if explain else (trained.engine.predict(frame), None)
    )
    churn = trained.churn.predict(Xm)
    p_alive = X["p_alive"].to_numpy(float) if "p_alive" in X else np.full(len(X), np.nan)
    p_alive = np.where(np.isnan(p_alive), 1.0 - churn, p_alive)
    tenure = X["tenure_days"].to_numpy(float) if "tenure_days" in X else np.full(len(X), np.nan)
    outputs = pd.DataFrame(
        {
            "raw_pred": pred["rank_spend"].to_numpy(),  # the ranking the score is a percentile of
            "predicted_spend_12m": np.maximum(pred["pred_spend"].to_numpy(), 0.0),
            "predicted_purchases_12m": np.maximum(pred["pred_purchases"].to_numpy(), 0.0),
            "p_alive": np.clip(p_alive, 0.0, 1.0),
            "churn_risk": churn,
            "next_purchase_prob_30d": trained.next_purchase.predict(Xm),
            "price_sensitivity": rule_price_sensitivity(X).to_numpy(),
            "days_since_last": X["days_since_last"].to_numpy(float) if "days_since_last" in X else np.nan,
            "tenure_days": np.where(np.isnan(tenure), X["signup_age_days"].to_numpy(float), tenure),
            "n_purchase_days": X["n_purchase_days"].to_numpy(float),
            "events_last_90d": X["events_last_90d"].to_numpy(float),
        },
        index=X.index,
    )
    return outputs, contributions


def score_population(
    trained: TrainedEngine, data: ShopData, as_of: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, BtydModels]:
    """(outputs, features, btyd) for every registered user as of ``as_of`` (default: the data's last day)."""
    as_of = pd.Timestamp(as_of or data.last_date).normalize()
    X, btyd = feature_matrix(data, as_of, with_profile=True)
    out = score_frame(trained, X)
    out["score"] = percentile_scores(out["raw_pred"].to_numpy())
    out["segment"] = assign_segments(out)
    cats = likely_categories(data, as_of)
    out["likely_categories"] = [list(cats.get(u, [])) for u in out.index]
    return out, X, btyd
