"""Ranking and classification metrics for the offline recommendation evaluation."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
from pydantic import BaseModel
from scipy.stats import bootstrap
from sklearn.metrics import roc_auc_score


def auc(y_true: Iterable[bool], score: Iterable[float]) -> float | None:
    """ROC AUC (scikit-learn); None when only one class is present, where AUC is undefined."""
    y = np.asarray(list(y_true), dtype=bool)
    if y.all() or not y.any():
        return None
    return float(roc_auc_score(y, np.asarray(list(score), dtype=float)))


def ndcg_at_k(recommended: list[str], relevant: set[str], k: int) -> float:
    dcg = sum(1.0 / math.log2(i + 2) for i, pid in enumerate(recommended[:k]) if pid in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


class PairedDiff(BaseModel):
    """Value-aware minus ablation, per-user paired, with a 95% bootstrap interval (1,000 resamples of users)."""

    hit_rate_diff: float
    hit_rate_ci95: tuple[float, float]
    ndcg_diff: float
    ndcg_ci95: tuple[float, float]


def paired_diff(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], seed: int, n_boot: int = 1000
) -> PairedDiff:
    out = []
    for metric in (0, 1):
        diff = np.asarray(a[metric] - b[metric], dtype=float)
        if np.ptp(diff) == 0:  # every resample has the same mean: the interval is that point
            lo = hi = float(diff[0]) if len(diff) else 0.0
        else:
            interval = bootstrap(
                (diff,), np.mean, n_resamples=n_boot, method="percentile", rng=np.random.default_rng(seed + 3)
            ).confidence_interval
            lo, hi = float(interval.low), float(interval.high)
        out.append((round(float(diff.mean()), 4), (round(lo, 4), round(hi, 4))))
    return PairedDiff(
        hit_rate_diff=out[0][0], hit_rate_ci95=out[0][1], ndcg_diff=out[1][0], ndcg_ci95=out[1][1]
    )
