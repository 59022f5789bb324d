"""The final engine: a LightGBM correction on top of BG/NBD x Gamma-Gamma, plus a total-spend calibration.

Design (why):
- BTYD models handle horizon and dropout properly but ignore most of the history (first spend, trends, timing);
  the learned model starts from log(BTYD expected spend) as its base margin and learns a multiplicative
  correction from the features and BTYD outputs. This transfers across horizons, which the temporal split needs:
  labels there only exist for windows inside the calibration period (rolling origins), shorter than the holdout.
- Total-spend calibration: a tweedie fit does not preserve totals (its score equation weights customers by
  mu^(1-p)), so after fitting, the spend predictions are rescaled so that the training rows' predicted total
  equals their actual total. Only training targets are read: never a holdout target of an evaluated customer.
  (Anchoring the total to BTYD x its own rolling-origin bias was tried on CDNOW and was worse: the backtest
  windows inside the calibration period show BTYD over-predicting, while the real holdout, which contains the
  Christmas season, shows it under-predicting.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from valuation.blending import (
    TARGETS,
    BlendWeights,
    TargetBlend,
    blend,
    choose_weights,
    customer_fold_ids,
)
from valuation.btyd import BtydModels, btyd_features
from valuation.features import holdout_targets, transaction_features
from valuation.learned import ValueModel
from valuation.ranking import LOG_FLOOR, SpendRanking, rfm_score
from valuation.splits import TimeSplit, rolling_origins

# Absolute-time columns shift between training origins and the real cut-off; the engine leaves them out.
ENGINE_EXCLUDED: tuple[str, ...] = ("T", "tenure_days")
ENGINE_PARAMS: dict[str, float | int] = {"num_leaves": 7, "min_data_in_leaf": 100}
ENGINE_ROUNDS = 150
# Tree sizes the backtest chooses between (the first is the default and wins ties). On the rolling origins of the
# CDNOW calibration period (grouped 3-fold inner cross-validation, 5 fold seeds), 3 leaves beat 7 on the sample
# (2,357 customers) in every seed, by +0.015 Spearman + Gini on average, and lost 0.0015 on master (23,570).
ENGINE_LEAVES: tuple[int, ...] = (7, 3)
_MIN_BASE = LOG_FLOOR  # floor before taking the log of a BTYD prediction of zero


# BTYD's prediction per target: the learned model's starting score (its log) and the blend's other end.
BTYD_COLUMNS: dict[str, str] = {"spend": "btyd_spend_h", "purchases": "bg_purchases_h"}


@dataclass
class EngineFrame:
    """Features + BTYD outputs at one cut-off, optionally with the targets of the window after it. ``baseline``:
    the column of BTYD's prediction per target (production frames carry BTYD at 365 days, not ``_h``)."""

    X: pd.DataFrame
    btyd: BtydModels | None  # None when scoring with an engine fitted earlier
    horizon: float  # in the time unit of the features
    y: pd.DataFrame | None = None
    cutoff: pd.Timestamp | None = None  # the day the features were computed to
    baseline: dict[str, str] = field(default_factory=lambda: dict(BTYD_COLUMNS))

    def subset(self, users: pd.Index) -> EngineFrame:
        y = None if self.y is None else self.y.loc[users]
        return EngineFrame(self.X.loc[users], self.btyd, self.horizon, y, self.cutoff, self.baseline)

    @property
    def btyd_prediction(self) -> pd.DataFrame:
        return pd.DataFrame({f"pred_{t}": self.X[self.baseline[t]] for t in TARGETS}, index=self.X.index)

    def margin(self, target: str, fallback: float = math.log(_MIN_BASE)) -> np.ndarray:
        """log(BTYD's prediction), floored; ``fallback`` where BTYD has none (a registered user without orders)."""
        base = self.X[self.baseline[target]].to_numpy(float)
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(base), fallback, np.log(np.maximum(base, _MIN_BASE)))


def engine_frame(
    tx: pd.DataFrame,
    cutoff: pd.Timestamp,
    horizon_days: float,
    *,
    unit: str = "W",
    window_end: pd.Timestamp | None = None,
    btyd: BtydModels | None = None,
) -> EngineFrame:
    """Features at ``cutoff`` (BTYD fitted on them unless given) with BTYD outputs for ``horizon_days``;
    with ``window_end``, also the targets over (cutoff, window_end]."""
    feats = transaction_features(tx, cutoff, freq=unit)
    models = btyd or BtydModels.fit(feats)
    horizon = horizon_days / (7.0 if unit == "W" else 1.0)
    X = feats.join(btyd_features(feats, models, {"h": horizon}))
    y = None
    if window_end is not None:
        y = holdout_targets(tx, cutoff + pd.Timedelta(days=1), window_end, feats.index)
    return EngineFrame(X, models, horizon, y, cutoff)


def engine_model(num_leaves: int = int(ENGINE_PARAMS["num_leaves"])) -> ValueModel:
    return ValueModel(num_boost_round=ENGINE_ROUNDS, params={**ENGINE_PARAMS, "num_leaves": num_leaves})


@dataclass
class FinalEngine:
    """Learned correction of BTYD, blended with BTYD per target by ``blend`` (``valuation.blending``; the default
    is the unblended correction), with the total-spend calibration factor kept in ``model.spend_scale``: it sets
    the level of the amounts (``pred_spend``), so the predicted total is calibrated whatever the amount weight."""

    model: ValueModel = field(default_factory=engine_model)
    columns: list[str] = field(default_factory=list)
    calibration: dict[str, float] = field(default_factory=dict)
    blend: BlendWeights = field(default_factory=BlendWeights)
    # Per target, the starting score of rows without a BTYD prediction: the log of their mean target in training.
    fallback_margin: dict[str, float] = field(default_factory=dict)
    # The spend ranking (tilt, RFM mix) with its references taken on the training rows, on the money scale of the
    # learned amounts, keeping its order (``valuation.ranking``). Why the money scale: eval value pools the
    # rankings of several engines (one per fold, each with its own blend weight); a log-space blend of BTYD with a
    # score of another spread ranks by the weight as much as by the customer (CDNOW sample, random split: per
    # fold +0.031 Spearman on average, pooled +0.012; a common total alone, +0.014).
    spend_ranking: SpendRanking = field(default_factory=SpendRanking)

    def _cols(self, X: pd.DataFrame) -> list[str]:
        return [c for c in X.columns if c not in ENGINE_EXCLUDED]

    def fit_frames(
        self, frames: list[EngineFrame], *, scale_frames: list[EngineFrame] | None = None
    ) -> FinalEngine:
        """Fit the correction on labelled frames and set the scale so that the predicted total of
        ``scale_frames`` (default: all of ``frames``) matches their actual total. Pass the frames whose window is
        the one to forecast: rolling-origin windows inside the calibration period teach the ranking well but
        their level (a young cohort's decay) is not the holdout's."""
        if not frames or any(f.y is None for f in frames + (scale_frames or [])):
            raise ValueError("fit_frames needs frames with targets")
        X = pd.concat([f.X for f in frames])
        y = pd.concat([f.y for f in frames])  # type: ignore[misc]
        self.fallback_margin = {t: _fallback_margin(frames, t) for t in TARGETS}
        s_margin, p_margin = (np.concatenate([self._margin(f, t) for f in frames]) for t in TARGETS)
        self.columns = self._cols(X)
        self.model.spend_scale = 1.0
        self.model.fit(
            X[self.columns], y["spend"], y["purchases"], base_margin=s_margin, purchases_margin=p_margin
        )
        scaled = scale_frames or frames
        learned = [self._learned(f)[0] for f in scaled]
        spend, purchases = (np.concatenate([part[t] for part in learned]) for t in TARGETS)
        rfm = np.concatenate([rfm_score(f.X) for f in scaled])
        self.spend_ranking = SpendRanking.fit(
            spend, purchases, rfm, tilt=self.blend.rank_tilt, rfm_mix=self.blend.rfm_mix
        )
        fitted = sum(float(self.predict(f)["pred_spend"].sum()) for f in scaled)
        actual_total = float(sum(f.y["spend"].sum() for f in scaled))  # type: ignore[index]
        btyd_total = float(sum(f.btyd_prediction["pred_spend"].sum() for f in scaled))
        self.model.spend_scale = actual_total / max(fitted, 1e-9)
        self.calibration = {
            "train_rows": float(len(X)),
            "scale_rows": float(sum(len(f.X) for f in scaled)),
            "train_actual_total": actual_total,
            "train_scale": self.model.spend_scale,
            "btyd_bias": actual_total / max(btyd_total, 1e-9),  # actual / BTYD on the training windows
        }
        return self

    def _margin(self, frame: EngineFrame, target: str) -> np.ndarray:
        return frame.margin(target, self.fallback_margin.get(target, math.log(_MIN_BASE)))

    def _learned(
        self, frame: EngineFrame, *, explain: bool = False
    ) -> tuple[dict[str, np.ndarray], pd.DataFrame | None]:
        """The learned model's predictions per target, before blending and before the spend level, and with
        ``explain`` the spend trees' path contributions from the same walk (else None)."""
        margins = {
            "base_margin": self._margin(frame, "spend"),
            "purchases_margin": self._margin(frame, "purchases"),
        }
        X = frame.X[self.columns]
        pred, contributions = (
            self.model.predict_explained(X, **margins)
            if explain
            else (self.model.predict(X, **margins), None)
        )
        learned = {
            "spend": pred["pred_spend"].to_numpy() / self.model.spend_scale,
            "purchases": pred["pred_purchases"].to_numpy(),
        }
        return learned, contributions

    @property
    def fitted_learned(self) -> bool:
        return self.model.spend_booster is not None

    def predict(self, frame: EngineFrame) -> pd.DataFrame:
        """Per target the amount, ``pred_<target>`` (the point prediction, at the amount weight), and the ranking
        score, ``rank_<target>`` (at the ranking weight; for spend, ``spend_ranking``'s score): see
        ``valuation.blending``."""
        return self.predict_explained(frame, explain=False)[0]

    def predict_explained(
        self, frame: EngineFrame, *, explain: bool = True
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """``predict`` and the learned spend model's path contributions (the reasons; ``ValueModel``'s
        ``predict_explained``), from one walk of the spend trees; None for a BTYD-only engine."""
        btyd = frame.btyd_prediction
        if not self.fitted_learned and self.blend.weight("spend") == self.blend.weight("purchases") == 0.0:
            # A BTYD-only engine (``btyd_only_engine``).
            return btyd.assign(rank_spend=btyd["pred_spend"], rank_purchases=btyd["pred_purchases"]), None
        learned, contributions = self._learned(frame, explain=explain)
        spend_rank = self.spend_ranking.score(learned["spend"], learned["purchases"], rfm_score(frame.X))
        ranking = {**learned, "spend": spend_rank}
        level = {"spend": self.model.spend_scale, "purchases": 1.0}
        out = {}
        for target in TARGETS:
            base = btyd[f"pred_{target}"]
            out[f"pred_{target}"] = (
                blend(learned[target], base, self.blend.amount_weight(target)) * level[target]
            )
            out[f"rank_{target}"] = blend(ranking[target], base, self.blend.weight(target)) * level[target]
        return pd.DataFrame(out, index=frame.X.index), contributions

    def contributions(self, frame: EngineFrame, *, method: str = "shap") -> pd.DataFrame:
        """Signed per-feature contributions to log(predicted spend), plus ``btyd_baseline`` (the base margin)
        and ``bias``; each row sums to the log of the spend blend at the ranking weight before the level (the weight
        scales the trees' part; the P(buy) tilt and the RFM mix of the ranking are not a feature's)."""
        contrib = self.model.contributions(frame.X[self.columns], method=method) * self.blend.weight("spend")
        contrib["btyd_baseline"] = self._margin(frame, "spend")
        return contrib


def _fallback_margin(frames: list[EngineFrame], target: str) -> float:
    """log of the mean ``target`` of the training rows BTYD has no prediction for (log of the floor if none)."""
    rows = [f.y[target][f.btyd_prediction[f"pred_{target}"].isna()] for f in frames]  # type: ignore[index]
    values = pd.concat(rows)
    return math.log(max(float(values.mean()), _MIN_BASE)) if len(values) else math.log(_MIN_BASE)


def backtest_weights(
    frames: list[EngineFrame],
    scale_frames: list[EngineFrame] | None = None,
    *,
    folds: int = 3,
    seed: int = 7,
    num_leaves: int = int(ENGINE_PARAMS["num_leaves"]),
) -> BlendWeights:
    """Blend weights from an out-of-fold backtest on the training frames themselves: customers are split into
    ``folds`` groups; each group's rows are predicted by an unblended engine fitted on the other groups' rows (every
    frame). Scored on the windows closest to the real task: ``scale_frames`` (the training customers' own holdout,
    customer splits) and the rolling origin with the latest cut-off, whose customers' tenures are closest to those
    at the real cut-off (on CDNOW the earliest origin, a cohort weeks old, wanted half the learned weight that the
    latest origin and the real holdout want). ``num_leaves``: the tree size of the backtested engines."""
    targets = list(scale_frames or [])
    rolling = [f for f in frames if all(f is not t for t in targets)]
    if rolling:
        targets.append(max(rolling, key=lambda f: f.cutoff or pd.Timestamp.min))
    fold_of = customer_fold_ids(pd.concat([f.X for f in frames]).index, folds, seed=seed)

    def part(frame: EngineFrame, k: int, inside: bool) -> EngineFrame:
        in_fold = fold_of.reindex(frame.X.index).to_numpy() == k
        return frame.subset(frame.X.index[in_fold if inside else ~in_fold])

    preds: list[list[pd.DataFrame]] = [[] for _ in targets]
    for k in range(folds):
        train = [part(f, k, inside=False) for f in frames]
        scale = [part(f, k, inside=False) for f in scale_frames] if scale_frames else None
        engine = FinalEngine(model=engine_model(num_leaves)).fit_frames(train, scale_frames=scale)
        for i, target in enumerate(targets):
            scored = part(target, k, inside=True)
            preds[i].append(
                engine.predict(scored).assign(scale_spend=engine.model.spend_scale, rfm=rfm_score(scored.X))
            )
    windows = []
    for target, parts in zip(targets, preds, strict=True):
        assert target.y is not None
        windows.append((target.y, pd.concat(parts).reindex(target.X.index), target.btyd_prediction))
    return choose_weights(windows, seed=seed).model_copy(update={"num_leaves": num_leaves})


def fit_engine(
    frames: list[EngineFrame], scale_frames: list[EngineFrame] | None = None, *, seed: int = 7
) -> FinalEngine:
    """The production recipe: backtest the default tree size with its blend weights; when its learned part keeps a
    weight for some target, also backtest the other sizes of ``ENGINE_LEAVES`` and keep the one whose blended
    backtest gain over BTYD is largest (a small shop wants smaller trees); then fit on every frame with it.

    Why the gate: the one-standard-error fallback tests one gain. Picking the best of several candidates first
    inflates that gain (the winner's curse), so another size would clear the threshold by luck where the default
    did not. On CDNOW master subsamples of 500 customers that happened in 2 of 5 runs, and ranked worse than BTYD
    (Spearman -0.007 +- 0.004). So a target the default sends to BTYD stays with BTYD whatever the size."""
    default = backtest_weights(frames, scale_frames, seed=seed, num_leaves=ENGINE_LEAVES[0])
    tried = [default]
    if default.backtest_gain > 0.0:
        fell_back = {t: b for t in TARGETS if (b := getattr(default, t)) is not None and b.btyd_only}
        tried += [
            backtest_weights(frames, scale_frames, seed=seed, num_leaves=n).model_copy(update=fell_back)
            for n in ENGINE_LEAVES[1:]
        ]
    best = max(tried, key=lambda w: w.backtest_gain)  # max keeps the first (the default) on a tie
    weights = best.model_copy(
        update={"leaves_gain": {int(w.num_leaves or 0): w.backtest_gain for w in tried}}
    )
    return FinalEngine(
        model=engine_model(int(weights.num_leaves or ENGINE_LEAVES[0])), blend=weights
    ).fit_frames(frames, scale_frames=scale_frames)


def btyd_only_engine(reason: str) -> FinalEngine:
    """No labelled window to learn from: BG/NBD x Gamma-Gamma as it is (no learned part, no rescaling)."""
    only = {
        t: TargetBlend(
            target=t,
            weight=0.0,
            amount_weight=0.0,
            best_weight=0.0,
            gain=0.0,
            gain_se=0.0,
            n_backtest=0,
            reason=reason,
        )
        for t in ("spend", "purchases")
    }
    return FinalEngine(blend=BlendWeights(**only))


def rolling_frames(
    tx: pd.DataFrame,
    calibration_end: pd.Timestamp,
    horizon_days: int,
    *,
    unit: str = "W",
    n_origins: int = 3,
) -> tuple[list[EngineFrame], list[TimeSplit]]:
    """Labelled frames on rolling origins inside the calibration period, never past it (``rolling_origins``:
    windows scaled to the horizon when the calibration period is shorter than it)."""
    first = pd.to_datetime(tx["date"]).min()
    origins = rolling_origins(first, calibration_end, horizon_days, n_origins=n_origins)
    frames = [
        engine_frame(tx, o.calibration_end, o.holdout_days, unit=unit, window_end=o.holdout_end)
        for o in origins
    ]
    return frames, origins
