"""Backtested blending of the learned model with BG/NBD x Gamma-Gamma (valuation.blending and its use by the
final engine): the blend formula, the fallback to BTYD, the shrinkage on small data."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from valuation.blending import (
    BacktestSet,
    BlendWeights,
    blend,
    choose_weight,
    customer_fold_ids,
    ranking_score,
)
from valuation.final_engine import (
    backtest_weights,
    btyd_only_engine,
    engine_frame,
    fit_engine,
    rolling_frames,
)


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Holdout spend (zero for most) and an informative BTYD-like prediction of it."""
    rng = np.random.default_rng(seed)
    value = rng.gamma(0.5, 40.0, n)
    buys = rng.random(n) < 0.4
    actual = np.where(buys, value * rng.gamma(4.0, 0.25, n), 0.0)
    btyd = value * 0.4 * np.exp(rng.normal(0, 0.8, n))
    return actual, btyd


def test_blend_runs_from_btyd_to_the_learned_model_in_log_space() -> None:
    learned, btyd = np.array([4.0, 1.0, 9.0, 2.0]), np.array([1.0, 4.0, 1.0, np.nan])
    np.testing.assert_allclose(blend(learned, btyd, 1.0), learned)
    np.testing.assert_allclose(blend(learned, btyd, 0.0), [1.0, 4.0, 1.0, 2.0])  # no BTYD value: learned kept
    np.testing.assert_allclose(blend(learned, btyd, 0.5), [2.0, 2.0, 3.0, 2.0])  # geometric mean
    assert blend(np.array([0.0]), np.array([0.0]), 0.5)[0] == pytest.approx(1e-3)  # zeros floored, not -inf


def test_a_learned_model_that_ranks_worse_falls_back_to_btyd() -> None:
    actual, btyd = synthetic(3000, 1)
    noise = np.random.default_rng(2).gamma(1.0, 10.0, len(actual))
    chosen = choose_weight("spend", [BacktestSet(actual=actual, learned=noise, btyd=btyd)])
    assert chosen.weight == 0.0 and chosen.btyd_only
    assert "did not beat BTYD" in chosen.reason or "within one standard error" in chosen.reason


def test_a_clearly_better_learned_model_keeps_nearly_all_its_weight() -> None:
    actual, btyd = synthetic(3000, 3)
    learned = actual + np.random.default_rng(4).gamma(1.0, 2.0, len(actual))  # close to the truth
    chosen = choose_weight("spend", [BacktestSet(actual=actual, learned=learned, btyd=btyd)])
    assert chosen.best_weight == 1.0 and chosen.gain > 5 * chosen.gain_se
    assert chosen.weight == 1.0
    assert ranking_score(actual, blend(learned, btyd, chosen.weight)) > ranking_score(actual, btyd)


def test_the_standard_error_grows_as_the_backtest_shrinks_and_decides_the_fallback() -> None:
    """The same learned model on less data: a larger standard error; a gain within one of it means BTYD."""
    actual, btyd = synthetic(20000, 5)
    rng = np.random.default_rng(6)
    learned = np.exp(0.85 * np.log(np.maximum(btyd, 1e-3)) + 0.15 * np.log1p(actual)) * rng.gamma(
        20.0, 0.05, len(actual)
    )
    weights = [
        choose_weight("spend", [BacktestSet(actual=actual[:n], learned=learned[:n], btyd=btyd[:n])])
        for n in (20000, 2000, 200)
    ]
    assert weights[0].weight == weights[0].best_weight > 0.0
    assert weights[0].gain_se < weights[1].gain_se < weights[2].gain_se
    for chosen in weights:  # the rule: the best weight when the gain clears one standard error, else BTYD
        assert chosen.weight == (chosen.best_weight if chosen.gain > chosen.gain_se > 0 else 0.0)


def test_two_backtest_windows_narrow_the_standard_error() -> None:
    actual, btyd = synthetic(4000, 7)
    learned = actual + np.random.default_rng(8).gamma(1.0, 30.0, len(actual))
    halves = [BacktestSet(actual=actual[i::2], learned=learned[i::2], btyd=btyd[i::2]) for i in (0, 1)]
    one, both = choose_weight("spend", halves[:1]), choose_weight("spend", halves)
    assert both.n_backtest == 2 * one.n_backtest
    assert both.gain_se < one.gain_se


def test_customer_fold_ids_keep_a_customer_in_one_fold() -> None:
    users = pd.Index(["a", "b", "c", "a", "d", "b"])
    folds = customer_fold_ids(users, 3, seed=1)
    assert sorted(folds.index) == ["a", "b", "c", "d"]
    assert folds.value_counts().max() - folds.value_counts().min() <= 1


@pytest.fixture(scope="module")
def shop(simulated_shop_factory: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    return simulated_shop_factory(n_users=1500, seed=11)


def test_engine_with_btyd_weights_ranks_exactly_like_btyd(shop: pd.DataFrame) -> None:
    cal_end = pd.Timestamp("2021-06-30")
    frame = engine_frame(shop, cal_end, 184, window_end=pd.Timestamp("2021-12-31"))
    rolling, _ = rolling_frames(shop, cal_end, 184)
    engine = fit_engine(rolling)
    zero = engine.blend.model_copy(
        update={
            t: getattr(engine.blend, t).model_copy(update={"weight": 0.0}) for t in ("spend", "purchases")
        }
    )
    engine.blend = zero
    pred = engine.predict(frame)
    assert spearmanr(pred["pred_spend"], frame.X["btyd_spend_h"]).statistic == pytest.approx(1.0)
    np.testing.assert_allclose(pred["pred_purchases"], frame.X["bg_purchases_h"])
    only = btyd_only_engine("no window").predict(frame)
    pd.testing.assert_frame_equal(only, frame.btyd_prediction)


def test_backtest_weights_are_reported_per_target_and_deterministic(shop: pd.DataFrame) -> None:
    rolling, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    first, again = backtest_weights(rolling), backtest_weights(rolling)
    assert first == again and isinstance(first, BlendWeights)
    for target in ("spend", "purchases"):
        chosen = getattr(first, target)
        assert 0.0 <= chosen.weight <= chosen.best_weight <= 1.0
        assert chosen.n_backtest == len(max(rolling, key=lambda f: f.cutoff).X)  # the latest origin only
    summary = first.summary()
    assert set(summary) >= {"spend_weight", "spend_reason", "purchases_weight", "purchases_reason"}
