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
    TargetBlend,
    amount_weight,
    blend,
    choose_weight,
    choose_weights,
    customer_fold_ids,
    ranking_key,
    ranking_score,
)
from valuation.final_engine import (
    EngineFrame,
    FinalEngine,
    backtest_weights,
    btyd_only_engine,
    engine_frame,
    engine_model,
    fit_engine,
    rolling_frames,
)
from valuation.ranking import RANK_TILTS, REFERENCE_QUANTILES, SpendRanking, money_scale, tilt_ranking


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
    for column in ("pred_spend", "rank_spend"):
        assert spearmanr(pred[column], frame.X["btyd_spend_h"]).statistic == pytest.approx(1.0)
    np.testing.assert_allclose(pred["pred_purchases"], frame.X["bg_purchases_h"])
    np.testing.assert_allclose(pred["rank_purchases"], frame.X["bg_purchases_h"])
    only = btyd_only_engine("no window").predict(frame)
    pd.testing.assert_frame_equal(only[["pred_spend", "pred_purchases"]], frame.btyd_prediction)
    np.testing.assert_array_equal(only["rank_spend"], only["pred_spend"])


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


def spread_out(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(actual, learned, btyd): the learned prediction orders customers better than BTYD, but its amounts are
    spread far too wide (the cube of a good prediction, at the same total)."""
    actual, btyd = synthetic(4000, seed)
    good = np.exp(0.6 * np.log(np.maximum(btyd, 1e-3)) + 0.4 * np.log1p(actual))
    learned = good**3 * good.sum() / (good**3).sum()
    return actual, learned, btyd


def test_amounts_shrink_toward_btyd_when_the_ranking_blend_worsens_rmse() -> None:
    actual, learned, btyd = spread_out(9)
    sets = [BacktestSet(actual=actual, learned=learned, btyd=btyd)]
    chosen = choose_weight("spend", sets)
    assert chosen.weight > 0.0  # it ranks better: the ranking keeps the learned weight
    assert sets[0].rmse(chosen.weight) > sets[0].rmse(None)  # ... but its amounts are worse than BTYD's
    assert chosen.amount_weight < chosen.weight
    assert sets[0].rmse_ratio(chosen.amount_weight) == min(
        sets[0].rmse_ratio(float(w)) for w in np.linspace(0.0, 1.0, 11) if w <= chosen.weight + 1e-9
    )
    assert "amounts at weight" in chosen.reason
    weights = BlendWeights(spend=chosen)
    assert weights.amount_weight("spend") == chosen.amount_weight and weights.weight("spend") == chosen.weight
    assert weights.summary()["spend_amount_weight"] == chosen.amount_weight
    assert "amount weight" in weights.describe()


def test_amounts_keep_the_ranking_weight_when_it_does_not_worsen_rmse() -> None:
    actual, btyd = synthetic(3000, 3)
    learned = actual + np.random.default_rng(4).gamma(1.0, 2.0, len(actual))
    chosen = choose_weight("spend", [BacktestSet(actual=actual, learned=learned, btyd=btyd)])
    assert chosen.amount_weight == chosen.weight == 1.0 and "amounts at" not in chosen.reason


def test_an_amount_gain_carried_by_a_few_customers_is_not_counted() -> None:
    """Two big spenders BTYD misses (3,000 each): learned amounts that are BTYD's but right for those two have a
    plain RMSE far below BTYD's, not a trimmed one (without those two, ``AMOUNT_TRIM`` of 2,000), and the amounts
    stay at BTYD's."""
    actual, btyd = synthetic(2000, 6)
    actual[:2] = 3000.0
    learned = btyd.copy()
    learned[:2] = actual[:2]
    s = BacktestSet(actual=actual, learned=learned, btyd=btyd)
    assert s.rmse(1.0) < 0.9 * s.rmse(None)
    assert s.rmse_ratio(1.0) == pytest.approx(1.0)
    assert amount_weight([s], 1.0)[0] == 0.0
    actual, btyd = synthetic(2000, 6)
    broad = BacktestSet(actual=actual, learned=np.where(actual > 0, (btyd + actual) / 2, btyd), btyd=btyd)
    assert amount_weight([broad], 1.0)[0] > 0.0  # a gain spread over many customers is kept


def test_backtest_amounts_carry_the_engine_level() -> None:
    """The engine blends before rescaling: at weight 0 its amounts are BTYD x the level, not BTYD."""
    actual, btyd = synthetic(500, 5)
    scale = np.full(len(actual), 2.0)
    learned = btyd * 3.0 * scale
    s = BacktestSet(actual=actual, learned=learned, btyd=btyd, scale=scale)
    rmse = lambda pred: float(np.sqrt(np.mean((pred - actual) ** 2)))  # noqa: E731
    assert s.rmse(0.0) == pytest.approx(rmse(btyd * 2.0))
    assert s.rmse(1.0) == pytest.approx(rmse(btyd * 6.0))
    assert s.rmse(None) == pytest.approx(rmse(btyd))


def test_engine_ranks_at_the_ranking_weight_and_predicts_amounts_at_the_amount_weight(
    shop: pd.DataFrame,
) -> None:
    frame = engine_frame(shop, pd.Timestamp("2021-06-30"), 184, window_end=pd.Timestamp("2021-12-31"))
    rolling, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    engine = fit_engine(rolling)
    chosen = {
        t: TargetBlend(
            target=t,
            weight=0.8,
            amount_weight=0.3,
            best_weight=0.8,
            gain=0.1,
            gain_se=0.01,
            n_backtest=1,
            reason="",
        )
        for t in ("spend", "purchases")
    }
    engine.blend = BlendWeights(**chosen)
    unblended = FinalEngine(model=engine.model, columns=engine.columns).predict(frame)
    pred = engine.predict(frame)
    scale = engine.model.spend_scale
    base = frame.btyd_prediction
    np.testing.assert_allclose(
        pred["rank_spend"], blend(unblended["pred_spend"] / scale, base["pred_spend"], 0.8) * scale
    )
    np.testing.assert_allclose(
        pred["pred_spend"], blend(unblended["pred_spend"] / scale, base["pred_spend"], 0.3) * scale
    )
    np.testing.assert_allclose(
        pred["pred_purchases"], blend(unblended["pred_purchases"], base["pred_purchases"], 0.3)
    )


def test_rows_without_a_btyd_prediction_start_from_their_training_mean(shop: pd.DataFrame) -> None:
    """Registered users without orders (production frames): no BTYD value, so no NaN starting score either."""
    rolling, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    frames = []
    for f in rolling:
        X, y = f.X.copy(), f.y.copy()  # type: ignore[union-attr]
        none = X.index[:100]
        X.loc[none, ["btyd_spend_h", "bg_purchases_h"]] = np.nan
        y.loc[none] = [[1.0, 30.0]] * len(none)  # purchases, spend
        frames.append(EngineFrame(X, f.btyd, f.horizon, y[["purchases", "spend"]], f.cutoff))
    engine = FinalEngine(model=engine_model(3)).fit_frames(frames)
    assert engine.fallback_margin["spend"] == pytest.approx(np.log(30.0))
    assert engine.fallback_margin["purchases"] == pytest.approx(0.0)
    pred = engine.predict(frames[-1].subset(frames[-1].X.index[:100]))
    assert np.isfinite(pred.to_numpy()).all()
    assert pred["pred_spend"].mean() == pytest.approx(30.0 * engine.model.spend_scale, rel=0.5)


def test_amounts_fall_back_to_btyd_when_their_rmse_gain_is_within_noise() -> None:
    """The learned model ranks far better, but its amounts are BTYD's up to noise: the amounts stay BTYD's."""
    actual, btyd = synthetic(3000, 11)
    rng = np.random.default_rng(12)
    learned = btyd * np.exp(rng.normal(0.0, 0.05, len(btyd)))
    ranking = actual + rng.gamma(1.0, 2.0, len(actual))
    chosen = choose_weight("spend", [BacktestSet(actual=actual, learned=learned, btyd=btyd, rank=ranking)])
    assert chosen.weight == 1.0 and chosen.amount_weight == 0.0
    assert "amounts at BTYD's x the level" in chosen.reason


def test_tilt_ranking_weighs_expected_spend_by_the_chance_to_buy() -> None:
    spend, purchases = np.array([100.0, 100.0, 10.0]), np.array([0.1, 2.0, 0.0])
    np.testing.assert_allclose(tilt_ranking(spend, purchases, 0.0), spend)
    p_buy = 1.0 - np.exp(-purchases)
    np.testing.assert_allclose(tilt_ranking(spend, purchases, 2.0), spend * np.maximum(p_buy, 1e-3) ** 2)


def buyers_window(seed: int, learned_ranks: bool) -> list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """One backtest window: most customers buy nothing; the learned purchases know who buys (when
    ``learned_ranks``), the learned spend only how much a buyer spends."""
    rng = np.random.default_rng(seed)
    n = 3000
    value = rng.gamma(0.5, 40.0, n)
    p_buy = rng.beta(0.5, 1.0, n)
    buys = rng.random(n) < p_buy
    actual = pd.DataFrame({"spend": np.where(buys, value, 0.0), "purchases": buys.astype(float)})
    btyd = pd.DataFrame({"pred_spend": value * 0.4 * np.exp(rng.normal(0, 1.0, n)), "pred_purchases": 0.5})
    know = -np.log1p(-np.minimum(p_buy, 0.999)) if learned_ranks else rng.gamma(1.0, 1.0, n)
    learned = pd.DataFrame({"pred_spend": value * 0.4, "pred_purchases": know})
    return [(actual, learned, btyd)]


def test_the_backtest_tilts_the_spend_ranking_toward_likely_buyers() -> None:
    weights = choose_weights(buyers_window(13, learned_ranks=True))
    # the window has no RFM score: only the tilts are tried
    assert set(weights.ranking_gain) == {ranking_key(c, 0.0) for c in RANK_TILTS}
    assert weights.rank_tilt > 0.0 and weights.rfm_mix == 0.0 and weights.spend is not None
    assert (
        weights.spend.gain == max(weights.ranking_gain.values()) > weights.ranking_gain[ranking_key(0.0, 0.0)]
    )
    assert "P(buy)^" in weights.describe() and weights.summary()["rank_tilt"] == weights.rank_tilt


def test_no_tilt_is_tried_when_the_untilted_ranking_falls_back_to_btyd() -> None:
    actual, btyd = synthetic(3000, 1)
    noise = np.random.default_rng(2).gamma(1.0, 10.0, len(actual))
    window = (
        pd.DataFrame({"spend": actual, "purchases": (actual > 0).astype(float)}),
        pd.DataFrame({"pred_spend": noise, "pred_purchases": (actual > 0) * 5.0}),  # would rank buyers first
        pd.DataFrame({"pred_spend": btyd, "pred_purchases": btyd / 40.0}),
    )
    weights = choose_weights([window])
    assert weights.spend is not None and weights.spend.btyd_only
    assert weights.rank_tilt == 0.0 and weights.ranking_gain == {}


def test_a_tilted_spend_ranking_is_put_back_on_the_money_scale(shop: pd.DataFrame) -> None:
    """Engines with different blend weights (eval value's folds) pool their rankings: the tilted ranking keeps
    its order but takes the untilted amounts' distribution, so a log-space blend with BTYD ranks alike."""
    rolling, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    tilted = FinalEngine(model=engine_model(3), blend=BlendWeights(rank_tilt=2.0)).fit_frames(rolling)
    money = tilted.spend_ranking.money
    assert money is not None and len(money[0]) == REFERENCE_QUANTILES
    pred = pd.concat([tilted.predict(f) for f in rolling])
    learned = [tilted._learned(f)[0] for f in rolling]
    spend, purchases = (np.concatenate([part[t] for part in learned]) for t in ("spend", "purchases"))
    order = spearmanr(pred["rank_spend"], tilt_ranking(spend, purchases, 2.0)).statistic
    assert order == pytest.approx(1.0)
    np.testing.assert_allclose(np.sort(pred["rank_spend"]), np.sort(pred["pred_spend"]), rtol=0.05, atol=0.5)
    untilted = FinalEngine(model=engine_model(3)).fit_frames(rolling)
    assert untilted.spend_ranking == SpendRanking()
    np.testing.assert_allclose(
        untilted.predict(rolling[0])["rank_spend"], untilted.predict(rolling[0])["pred_spend"]
    )


def test_money_scale_is_increasing_inside_and_beyond_the_training_range() -> None:
    quantiles = ([1.0, 2.0, 4.0], [10.0, 100.0, 1000.0])
    score = np.array([0.0, 0.5, 1.0, 1.5, 3.0, 4.0, 8.0])
    mapped = money_scale(score, quantiles)
    np.testing.assert_allclose(mapped, [0.0, 5.0, 10.0, 55.0, 550.0, 1000.0, 2000.0])
    np.testing.assert_array_equal(money_scale(score, None), score)
