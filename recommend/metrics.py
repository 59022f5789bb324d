"""Ranking and classification metrics for the offline recommendation evaluation."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
from pydantic import BaseModel


def auc(y_true: Iterable[bool], score: Iterable[float]) -> float | None:
    """ROC AUC by the rank-sum formula (ties get average ranks); None when only one class is present."""
    y = np.asarray(list(y_true), dtype=bool)
    s = np.asarray(list(score), dtype=float)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = pd.Series(s).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


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
    rng = np.random.default_rng(seed + 3)
    idx = rng.integers(0, len(a[0]), size=(n_boot, len(a[0])))
    out = []
    for metric in (0, 1):
        diff = a[metric] - b[metric]
        boots = diff[idx].mean(axis=1)
        lo, hi = np.percentile(boots, [2.5, 97.5])
        out.append((round(float(diff.mean()), 4), (round(float(lo), 4), round(float(hi), 4))))
    return PairedDiff(
        hit_rate_diff=out[0][0], hit_rate_ci95=out[0][1], ndcg_diff=out[1][0], ndcg_ci95=out[1][1]
    )
