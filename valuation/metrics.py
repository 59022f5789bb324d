"""Accuracy and ranking metrics for per-customer predictions of holdout purchases or spend.

Ties in the prediction are handled explicitly (a model predicting the same value for everyone gets a Gini of 0
and a lift of 1, whatever the row order), so that degenerate models such as "predict zero" cannot look good by
accident of ordering.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import pearsonr, rankdata, spearmanr

METRIC_NAMES: tuple[str, ...] = (
    "mse",
    "mae",
    "rmse",
    "pearson",
    "spearman",
    "gini",
    "decile_mape",
    "top_decile_lift",
    "total_pred",
    "total_actual",
    "total_ratio",
)


def _pair(actual: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, p = np.asarray(actual, dtype=float), np.asarray(pred, dtype=float)
    if a.shape != p.shape or a.ndim != 1:
        raise ValueError(f"actual and pred must be 1-d and the same length, got {a.shape} and {p.shape}")
    if not np.all(np.isfinite(p)):
        raise ValueError("predictions contain NaN or infinity")
    return a, p


def _corr(kind: str, a: np.ndarray, p: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(p) == 0:
        return float("nan")  # undefined for a constant prediction
    fn = pearsonr if kind == "pearson" else spearmanr
    return float(fn(a, p)[0])


def _gini_raw(actual: np.ndarray, pred: np.ndarray) -> float:
    """Area between the concentration curve of ``actual`` ordered by ``pred`` (descending) and the diagonal.

    Tied predictions form one step (the curve is linear across a tie group), i.e. the mean of every ordering.
    """
    n = len(actual)
    total = actual.sum()
    if n == 0 or total <= 0:
        return float("nan")
    order = np.argsort(-pred, kind="stable")
    p_sorted, a_sorted = pred[order], actual[order]
    boundaries = np.flatnonzero(np.r_[p_sorted[1:] != p_sorted[:-1], True])  # last index of each tie group
    x = np.r_[0.0, (boundaries + 1) / n]
    y = np.r_[0.0, np.cumsum(a_sorted)[boundaries] / total]
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return area - 0.5


def normalized_gini(actual: np.ndarray, pred: np.ndarray) -> float:
    """Gini of the prediction's ordering over the Gini of the perfect ordering (1 = perfect, 0 = random)."""
    a, p = _pair(actual, pred)
    best = _gini_raw(a, a)
    if not best or math.isnan(best):
        return float("nan")
    return _gini_raw(a, p) / best


def _decile_groups(pred: np.ndarray) -> np.ndarray:
    """Decile (0 = lowest prediction .. 9 = highest) by rank; tied predictions share the mean rank."""
    ranks = rankdata(pred, method="average")
    return np.minimum(((ranks - 0.5) / len(pred) * 10).astype(int), 9)


def decile_mape(actual: np.ndarray, pred: np.ndarray) -> float:
    """Mean over prediction deciles of |mean predicted - mean actual| / mean actual (deciles with no actual
    value are skipped): how well the model is calibrated along its own ranking."""
    a, p = _pair(actual, pred)
    groups = _decile_groups(p)
    errs = []
    for g in np.unique(groups):
        m = groups == g
        act = a[m].mean()
        if act > 0:
            errs.append(abs(p[m].mean() - act) / act)
    return float(np.mean(errs)) if errs else float("nan")


def top_decile_lift(actual: np.ndarray, pred: np.ndarray) -> float:
    """Mean actual among the top 10% by prediction over the overall mean; ties at the cut count fractionally."""
    a, p = _pair(actual, pred)
    overall = a.mean()
    if len(a) == 0 or overall <= 0:
        return float("nan")
    k = len(a) / 10.0
    order = np.argsort(-p, kind="stable")
    p_sorted, a_sorted = p[order], a[order]
    cut_value = p_sorted[max(math.ceil(k) - 1, 0)]
    above = p_sorted > cut_value
    tie = p_sorted == cut_value
    take_from_tie = k - above.sum()
    top_sum = a_sorted[above].sum() + a_sorted[tie].mean() * take_from_tie
    return float(top_sum / k / overall)


def evaluate_predictions(
    actual: np.ndarray, pred: np.ndarray, *, rank: np.ndarray | None = None
) -> dict[str, float]:
    """All metrics for one model on one target. ``rank``: the model's ranking score, when it ranks by something
    other than its amounts (the final engine: ``valuation.blending``); the ranking metrics read it."""
    a, p = _pair(actual, pred)
    r = p if rank is None else _pair(actual, rank)[1]
    err = p - a
    mse = float(np.mean(err**2))
    total_actual = float(a.sum())
    out = {
        "mse": mse,
        "mae": float(np.mean(np.abs(err))),
        "rmse": math.sqrt(mse),
        "pearson": _corr("pearson", a, p),
        "spearman": _corr("spearman", a, r),
        "gini": normalized_gini(a, r),
        "decile_mape": decile_mape(a, p),
        "top_decile_lift": top_decile_lift(a, r),
        "total_pred": float(p.sum()),
        "total_actual": total_actual,
        "total_ratio": float(p.sum() / total_actual) if total_actual > 0 else float("nan"),
    }
    # Round away float noise such as a Gini of -1e-16 for a constant prediction.
    return {k: (round(v, 12) + 0.0 if math.isfinite(v) else v) for k, v in out.items()}
