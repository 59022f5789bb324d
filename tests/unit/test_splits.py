"""Splits, and proof that no holdout data of evaluated customers reaches features or models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuation.datasets import Dataset
from valuation.evaluate import run_value_eval
from valuation.features import transaction_features
from valuation.splits import TimeSplit, customer_folds, customer_split, rolling_origins

CAL_END, HOLD_END = pd.Timestamp("2021-06-30"), pd.Timestamp("2021-12-31")


def simulated_shop(n_users: int = 1200, seed: int = 3) -> pd.DataFrame:
    """BG/NBD-like buyers acquired in Jan-Mar 2021: Poisson purchasing, dropout after each purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for uid in range(n_users):
        day = float(rng.integers(0, 90))
        rate, p_drop = rng.gamma(0.6, 1 / 25), rng.beta(1.0, 3.0)
        value = rng.gamma(4.0, 12.0)
        while day < 365:
            rows.append(
                (
                    f"u{uid}",
                    pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(day)),
                    value * rng.gamma(5, 0.2),
                )
            )
            if rng.random() < p_drop:
                break
            day += rng.exponential(1 / max(rate, 1e-4))
    return pd.DataFrame(rows, columns=["user_id", "date", "amount"])


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return simulated_shop()


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


def test_temporal_eval_never_sees_the_holdout(shop: pd.DataFrame) -> None:
    report, table = run_value_eval(_dataset(shop), split="temporal")
    _, changed = run_value_eval(_dataset(_perturb_holdout(shop)), split="temporal")
    pd.testing.assert_frame_equal(_prediction_columns(table), _prediction_columns(changed))
    assert not table["actual_spend"].equals(changed["actual_spend"])  # the perturbation did reach the targets
    assert report.training.startswith("rolling origins")


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
