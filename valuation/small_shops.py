"""`eval value --subsample 500,2000,8000 --seeds N`: the engine on random customer subsamples, as small shops.

A shop with a few hundred customers is where a learned model is most likely to rank worse than BG/NBD x
Gamma-Gamma. Each run draws ``size`` customers (all their transactions) with its own seed and runs the full
``run_value_eval`` on them; per size the gains over BG/NBD x GG are averaged over the seeds, with their standard
deviation and standard error (the spread a shop owner would see from one shop to the next).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from valuation.datasets import Dataset
from valuation.evaluate import run_value_eval


class SubsampleRun(BaseModel):
    size: int
    seed: int
    spearman_gain: float
    gini_gain: float
    rmse_ratio: float
    total_ratio: float
    spend_weight: float  # the engine's backtested learned weight for spend (mean over its folds)


class SizeSummary(BaseModel):
    size: int
    runs: int
    mean: dict[str, float]
    std: dict[str, float]
    se: dict[str, float]
    btyd_only_runs: int  # runs whose every fold ranked spend by BTYD alone

    def passed(self) -> bool:
        """The issue's bar for small shops: mean Spearman and Gini gains not below zero."""
        return self.mean["spearman_gain"] >= 0.0 and self.mean["gini_gain"] >= 0.0


class SubsampleReport(BaseModel):
    dataset: str
    split: str
    folds: int
    sizes: list[SizeSummary]
    runs: list[SubsampleRun] = Field(default_factory=list)
    seconds: float = 0.0


GAIN_KEYS: tuple[str, ...] = ("spearman_gain", "gini_gain", "rmse_ratio", "total_ratio", "spend_weight")


def subsample(dataset: Dataset, size: int, seed: int) -> Dataset:
    """``size`` customers drawn at random (with all their transactions)."""
    users = pd.Index(dataset.transactions["user_id"].unique())
    if not 0 < size < len(users):
        raise ValueError(
            f"subsample size {size} must be between 1 and the {len(users)} customers of {dataset.name}"
        )
    chosen = np.random.default_rng(seed).choice(len(users), size=size, replace=False)
    keep = dataset.transactions["user_id"].isin(users[chosen])
    return dataclasses.replace(
        dataset,
        name=f"{dataset.name}[{size}, seed {seed}]",
        transactions=dataset.transactions[keep].reset_index(drop=True),
        holdout_targets=None,
        truth=None,
    )


def _summary(size: int, runs: list[SubsampleRun]) -> SizeSummary:
    table = pd.DataFrame([r.model_dump() for r in runs])
    n = len(runs)
    std = {k: float(table[k].std(ddof=1)) if n > 1 else float("nan") for k in GAIN_KEYS}
    return SizeSummary(
        size=size,
        runs=n,
        mean={k: float(table[k].mean()) for k in GAIN_KEYS},
        std=std,
        se={k: v / math.sqrt(n) for k, v in std.items()},
        btyd_only_runs=int((table["spend_weight"] == 0.0).sum()),
    )


def run_subsample_study(
    dataset: Dataset,
    sizes: list[int],
    seeds: int,
    *,
    split: str = "temporal",
    n_folds: int = 5,
    calibration_end: pd.Timestamp | str | None = None,
    holdout_end: pd.Timestamp | str | None = None,
    progress: Callable[[str], Any] | None = None,
) -> SubsampleReport:
    """For each size, ``seeds`` subsamples (seeds 0..N-1), each evaluated with ``run_value_eval``."""
    if seeds < 1 or not sizes:
        raise ValueError("give at least one subsample size and one seed")
    runs: list[SubsampleRun] = []
    seconds = 0.0
    for size in sizes:
        for seed in range(seeds):
            report, _ = run_value_eval(
                subsample(dataset, size, seed),
                split=split,
                calibration_end=calibration_end,
                holdout_end=holdout_end,
                seed=seed,
                n_folds=n_folds,
            )
            assert report.acceptance is not None
            acc = report.acceptance
            weights = [float(b.get("spend_weight", 1.0)) for b in report.blend]
            runs.append(
                SubsampleRun(
                    size=size,
                    seed=seed,
                    spearman_gain=acc.spearman_gain,
                    gini_gain=acc.gini_gain,
                    rmse_ratio=acc.rmse_ratio,
                    total_ratio=acc.total_ratio,
                    spend_weight=float(np.mean(weights)) if weights else 1.0,
                )
            )
            seconds += report.seconds
            if progress is not None:
                progress(
                    f"{size} customers, seed {seed}: Spearman {acc.spearman_gain:+.4f}, Gini {acc.gini_gain:+.4f}"
                )
    summaries = [_summary(size, [r for r in runs if r.size == size]) for size in sizes]
    return SubsampleReport(
        dataset=dataset.name,
        split=split,
        folds=n_folds,
        sizes=summaries,
        runs=runs,
        seconds=round(seconds, 1),
    )
