"""Splits, and proof that no holdout data of evaluated customers reaches features or models."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from valuation.datasets import Dataset
from valuation.evaluate import run_value_eval
from valuation.features import transaction_features
from valuation.splits import TimeSplit, customer_folds, customer_split, rolling_origins

CAL_END, HOLD_END = pd.Timestamp("2021-06-30"), pd.Timestamp("2021-12-31")


@pytest.fixture(scope="module")
def shop(simulated_shop_factory: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    return simulated_shop_factory()


def _dataset(tx: pd.DataFrame) -> Dataset:
    return Dataset("sim", tx, CAL_END, HOLD_END, time_unit="W")


def _perturb_holdout(tx: pd.DataFrame, users: pd.Index | None = None) -> pd.DataFrame:
    """Multiply holdout amounts by 10 and add a big holdout purchase, for ``users`` (default: everyone)."""
    out = tx.copy()
    in_holdout = out["date"] > CAL_END
    who = out["user_id"].isin(users) if users is not None else True
    out.loc[in_holdout & who, "amount"] *= 10
    extra_users = list(users[:50]) if users is not None else list(out["user_id"].unique()[:50])
    extra = pd.DataFrame({"user_id": extra_users, "date": pd.Timestamp("2021-09-01"), "amount": 5000.0})
    return pd.concat([out, extra], ignore_index=True)


def _prediction_columns(table: pd.DataFrame) -> pd.DataFrame:
    return table[[c for c in table.columns if not c.startswith("actual_") and c != "fold"]]


def test_time_split_parts_are_disjoint_and_ordered(shop: pd.DataFrame) -> None:
    split = TimeSplit(CAL_END, HOLD_END)
    cal, hold = split.calibration_part(shop), split.holdout_part(shop)
    assert cal["date"].max() <= CAL_END + pd.Timedelta(hours=23, minutes=59)
    assert hold["date"].min() >= split.holdout_start
    assert len(cal) + len(hold) == len(shop[shop["date"] <= HOLD_END + pd.Timedelta(days=1)])
    with pytest.raises(ValueError, match="after calibration end"):
        TimeSplit(HOLD_END, CAL_END)


def test_customer_splits(shop: pd.DataFrame) -> None:
    feats = transaction_features(shop, CAL_END)
    temporal = customer_split(feats, "temporal")
    assert temporal.evaluate.equals(feats.index) and len(temporal.train) == 0
    for kind in ("random", "stratified"):
        s = customer_split(feats, kind, seed=11)
        assert s.train.intersection(s.evaluate).empty
        assert len(s.train) + len(s.evaluate) == len(feats)
        assert len(s.evaluate) == pytest.approx(0.2 * len(feats), abs=10)
        assert customer_split(feats, kind, seed=11).evaluate.equals(s.evaluate)  # deterministic
    strat = customer_split(feats, "stratified", seed=11)
    deciles = pd.qcut(feats["total_spend"].rank(method="first"), 10, labels=False)
    share = deciles.index.isin(strat.evaluate)
    per_decile = pd.Series(share, index=feats.index).groupby(deciles).mean()
    assert per_decile.between(0.17, 0.23).all()
    with pytest.raises(ValueError, match="split must be"):
        customer_split(feats, "by-magic")


def test_rolling_origins_stay_inside_the_calibration_period() -> None:
    short = rolling_origins(pd.Timestamp("2021-01-01"), CAL_END, 184)
    assert all(o.holdout_end <= CAL_END for o in short)
    long = rolling_origins(pd.Timestamp("2018-01-01"), CAL_END, 184)
    assert all(o.holdout_days == 184 and o.holdout_end <= CAL_END for o in long)
    with pytest.raises(ValueError, match="too short"):
        rolling_origins(pd.Timestamp("2021-06-01"), CAL_END, 184)


def test_rolling_windows_for_a_holdout_longer_than_calibration_fit_after_the_history() -> None:
    """Windows scaled to the horizon (1/3..2/3 of it) but capped so every cut-off keeps 60 days of history."""
    first, cal_end = pd.Timestamp("2021-01-01"), pd.Timestamp("2021-05-31")
    origins = rolling_origins(first, cal_end, 400)  # 150 days of data, 90 of them after 60 days of history
    assert [(o.calibration_end, o.holdout_end) for o in origins] == [(pd.Timestamp("2021-03-02"), cal_end)]
    longer = rolling_origins(first, pd.Timestamp("2021-08-31"), 400)  # room 182: 133 and the 182 cap
    assert [o.holdout_days for o in longer] == [182, 133]
    assert all(o.calibration_end >= pd.Timestamp("2021-03-02") for o in longer)
    with pytest.raises(ValueError, match="2021-01-01 to the calibration end 2021-03-31 leaves 29 days"):
        rolling_origins(first, pd.Timestamp("2021-03-31"), 400)


def test_temporal_eval_never_sees_the_holdout(shop: pd.DataFrame) -> None:
    report, table = run_value_eval(_dataset(shop), split="temporal")
    _, changed = run_value_eval(_dataset(_perturb_holdout(shop)), split="temporal")
    pd.testing.assert_frame_equal(_prediction_columns(table), _prediction_columns(changed))
    assert not table["actual_spend"].equals(changed["actual_spend"])  # the perturbation did reach the targets
    assert report.training.startswith("rolling origins")


@pytest.mark.slow  # trains the engine several times over
def test_random_split_never_sees_evaluated_customers_holdout(shop: pd.DataFrame) -> None:
    report, table = run_value_eval(_dataset(shop), split="random", n_folds=1)
    evaluated = table.index
    _, changed = run_value_eval(_dataset(_perturb_holdout(shop, evaluated)), split="random", n_folds=1)
    pd.testing.assert_frame_equal(_prediction_columns(table), _prediction_columns(changed))
    # Control: the same perturbation on the training customers does move the learned predictions.
    feats = transaction_features(shop, CAL_END)
    trained_on = feats.index.difference(evaluated)
    _, moved = run_value_eval(_dataset(_perturb_holdout(shop, trained_on)), split="random", n_folds=1)
    assert not np.allclose(table["final-engine:pred_spend"], moved["final-engine:pred_spend"])
    assert report.n_evaluated == len(evaluated) and not report.fold_gains


@pytest.mark.slow  # trains the engine several times over
def test_folds_score_every_customer_out_of_fold(shop: pd.DataFrame) -> None:
    report, table = run_value_eval(_dataset(shop), split="random", n_folds=5)
    assert report.n_evaluated == report.n_customers and len(report.fold_gains) == 5
    assert sorted(table["fold"].value_counts().tolist()) == [table.index.size // 5] * 5
    fold0 = table.index[table["fold"] == 0]
    _, changed = run_value_eval(_dataset(_perturb_holdout(shop, fold0)), split="random", n_folds=5)
    # Fold 0's own holdout never reaches the model that scores fold 0; it does train the other four.
    same = _prediction_columns(table).loc[fold0]
    pd.testing.assert_frame_equal(same, _prediction_columns(changed).loc[fold0])
    others = table.index.difference(fold0)
    assert not np.allclose(
        table.loc[others, "final-engine:pred_spend"], changed.loc[others, "final-engine:pred_spend"]
    )


def test_customer_folds_partition_the_customers(shop: pd.DataFrame) -> None:
    feats = transaction_features(shop, CAL_END)
    for kind in ("random", "stratified"):
        folds = customer_folds(feats, kind, folds=5, seed=3)
        evaluated = pd.Index([]).append([f.evaluate for f in folds])
        assert evaluated.sort_values().equals(feats.index.sort_values())  # each customer exactly once
        assert all(f.train.intersection(f.evaluate).empty for f in folds)
    strat = customer_folds(feats, "stratified", folds=5, seed=3)
    top = feats["total_spend"] >= feats["total_spend"].quantile(0.9)
    shares = [top.loc[f.evaluate].mean() for f in strat]
    assert max(shares) - min(shares) < 0.03  # every fold gets its tenth of the top decile
    assert len(customer_folds(feats, "temporal", folds=5)) == 1
