"""The engine's spend ranking (valuation.ranking): percentiles against stored references, the RFM score, the
RFM-mixed ranking on the money scale, its choice by the backtest and its use by the final engine."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata, spearmanr

from valuation.blending import BlendWeights, choose_weights, ranking_key
from valuation.final_engine import FinalEngine, engine_model, rolling_frames
from valuation.ranking import (
    RANK_TILTS,
    RFM_MIXES,
    SpendRanking,
    percentile_in,
    reference_quantiles,
    rfm_score,
    tilt_ranking,
)


def test_percentile_in_gives_a_tie_its_middle_and_keeps_order_beyond_the_range() -> None:
    reference = [0.0, 0.0, 0.0, 1.0, 2.0]  # three of five at zero: their middle is the 2nd of 0..4
    pct = percentile_in(reference, np.array([0.0, 0.5, 1.0, 2.0, 3.0, 30.0]))
    np.testing.assert_allclose(pct[:4], [0.25, 0.5, 0.75, 1.0])
    assert 1.0 < pct[4] < pct[5] < 1.001  # new extremes: in order, just outside the range


def test_rfm_score_is_repeat_rate_x_recency_share_x_order_value() -> None:
    X = pd.DataFrame(
        {
            "frequency": [0.0, 2.0, 3.0, np.nan],
            "recency": [0.0, 10.0, 5.0, np.nan],
            "T": [10.0, 20.0, 10.0, np.nan],
            "avg_order_value": [50.0, 30.0, 20.0, np.nan],
        }
    )
    np.testing.assert_allclose(rfm_score(X), [0.0, 2 / 20 * 10 / 20 * 30, 3 / 10 * 5 / 10 * 20, 0.0])
    assert (rfm_score(X.drop(columns="T").iloc[:1]) == 0.0).all()  # a one-user frame without the column


def test_a_mixed_ranking_averages_the_percentiles_on_the_money_scale() -> None:
    rng = np.random.default_rng(5)
    spend, purchases, rfm = rng.gamma(0.5, 40.0, 4000), rng.gamma(1.0, 1.0, 4000), rng.gamma(0.3, 1.0, 4000)
    rfm[:1500] = 0.0  # one-off buyers tie at zero
    ranking = SpendRanking.fit(spend, purchases, rfm, tilt=1.0, rfm_mix=0.5)
    score = ranking.score(spend, purchases, rfm)
    by_hand = 0.5 * rankdata(tilt_ranking(spend, purchases, 1.0)) + 0.5 * rankdata(rfm)
    assert spearmanr(score, by_hand).statistic > 0.999
    # the amounts' scale (up to the top 1%, where a quantile bin spans a wide range of amounts)
    q = np.linspace(0.0, 0.99, 100)
    np.testing.assert_allclose(np.quantile(score, q), np.quantile(spend, q), rtol=0.05, atol=0.5)
    # a function of one customer: scored alone, each gets the score it has among everyone
    alone = [ranking.score(spend[i : i + 1], purchases[i : i + 1], rfm[i : i + 1])[0] for i in range(5)]
    np.testing.assert_allclose(alone, score[:5])
    assert "percentile(RFM)" in ranking.describe()


def rfm_window(seed: int, rfm_knows_buyers: bool) -> list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]:
    """One backtest window: the learned spend knows how much a buyer spends, not who buys; the RFM score knows
    who buys (when ``rfm_knows_buyers``) or nothing."""
    rng = np.random.default_rng(seed)
    n = 3000
    value, p_buy = rng.gamma(0.5, 40.0, n), rng.beta(0.5, 1.0, n)
    buys = rng.random(n) < p_buy
    actual = pd.DataFrame({"spend": np.where(buys, value, 0.0), "purchases": buys.astype(float)})
    btyd = pd.DataFrame({"pred_spend": value * 0.4 * np.exp(rng.normal(0, 1.0, n)), "pred_purchases": 0.5})
    rfm = np.where(rng.random(n) < p_buy, p_buy, 0.0) if rfm_knows_buyers else rng.gamma(1.0, 1.0, n)
    learned = pd.DataFrame({"pred_spend": value * 0.4, "pred_purchases": rng.gamma(1.0, 1.0, n), "rfm": rfm})
    return [(actual, learned, btyd)]


def test_the_backtest_mixes_in_the_rfm_ranking_when_it_knows_who_buys() -> None:
    weights = choose_weights(rfm_window(21, rfm_knows_buyers=True))
    assert set(weights.ranking_gain) == {ranking_key(c, a) for c in RANK_TILTS for a in RFM_MIXES}
    assert weights.rfm_mix > 0.0 and weights.spend is not None
    assert (
        weights.spend.gain == max(weights.ranking_gain.values()) > weights.ranking_gain[ranking_key(0.0, 0.0)]
    )
    assert "percentile(RFM)" in weights.describe() and weights.summary()["rfm_mix"] == weights.rfm_mix


def test_the_backtest_leaves_out_an_rfm_ranking_that_knows_nothing() -> None:
    weights = choose_weights(rfm_window(22, rfm_knows_buyers=False))
    assert weights.rfm_mix == 0.0


@pytest.fixture(scope="module")
def shop(simulated_shop_factory: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    return simulated_shop_factory()


def test_the_engine_ranks_by_the_mix_and_predicts_the_amounts_unmixed(shop: pd.DataFrame) -> None:
    rolling, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    mixed = FinalEngine(model=engine_model(3), blend=BlendWeights(rank_tilt=1.0, rfm_mix=0.5)).fit_frames(
        rolling
    )
    plain = FinalEngine(model=engine_model(3)).fit_frames(rolling)
    assert mixed.spend_ranking.rfm_reference == reference_quantiles(
        np.concatenate([rfm_score(f.X) for f in rolling])
    )
    frame = rolling[0]
    pred, learned = mixed.predict(frame), mixed._learned(frame)[0]
    tilted = tilt_ranking(learned["spend"], learned["purchases"], 1.0)
    by_hand = 0.5 * percentile_in(mixed.spend_ranking.tilted_reference or [], tilted) + 0.5 * percentile_in(
        mixed.spend_ranking.rfm_reference or [], rfm_score(frame.X)
    )
    assert spearmanr(pred["rank_spend"], by_hand).statistic == pytest.approx(1.0)
    np.testing.assert_allclose(pred["pred_spend"], plain.predict(frame)["pred_spend"])
