"""BG/NBD and Gamma-Gamma: the published CDNOW parameters, and agreement with the `lifetimes` fitters."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from valuation.btyd import BetaGeoModel, BtydModels, GammaGammaModel, btyd_features
from valuation.datasets import load_cdnow
from valuation.features import transaction_features

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # lifetimes imports pkg_resources, which warns
    import lifetimes
    from lifetimes.utils import summary_data_from_transaction_data


@pytest.fixture(scope="module")
def cdnow_features() -> pd.DataFrame:
    data = load_cdnow("sample")
    return transaction_features(data.transactions, data.calibration_end, freq="W")


@pytest.fixture(scope="module")
def models(cdnow_features: pd.DataFrame) -> BtydModels:
    return BtydModels.fit(cdnow_features)


def test_cdnow_sample_has_the_published_shape(cdnow_features: pd.DataFrame) -> None:
    assert len(cdnow_features) == 2357
    assert cdnow_features["frequency"].sum() == 2457  # repeat purchase days in the 39-week calibration


def test_bgnbd_reproduces_the_published_cdnow_parameters(models: BtydModels) -> None:
    bg = models.bgnbd
    # Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426
    assert (round(bg.r, 3), round(bg.alpha, 3), round(bg.a, 3), round(bg.b, 3)) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )


def test_gamma_gamma_reproduces_the_cdnow_reference(models: BtydModels) -> None:
    gg = models.gamma_gamma
    assert (round(gg.p, 2), round(gg.q, 2), round(gg.v, 2)) == (6.25, 3.74, 15.44)
    assert gg.n_customers == 946  # repeat customers only


def test_features_match_lifetimes_summary() -> None:
    data = load_cdnow("sample")
    ours = transaction_features(data.transactions, data.calibration_end, freq="D")
    theirs = summary_data_from_transaction_data(
        data.transactions,
        "user_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=data.calibration_end,
        freq="D",
    )
    theirs = theirs.reindex(ours.index)
    for col in ("frequency", "recency", "T", "monetary_value"):
        mine = ours["monetary" if col == "monetary_value" else col]
        np.testing.assert_allclose(mine.to_numpy(), theirs[col].to_numpy(), rtol=1e-9, err_msg=col)


def test_bgnbd_agrees_with_lifetimes(cdnow_features: pd.DataFrame, models: BtydModels) -> None:
    f = cdnow_features
    fitter = lifetimes.BetaGeoFitter(penalizer_coef=0.0).fit(f["frequency"], f["recency"], f["T"])
    theirs = fitter.params_
    mine = models.bgnbd
    np.testing.assert_allclose(
        [mine.r, mine.alpha, mine.a, mine.b],
        [theirs["r"], theirs["alpha"], theirs["a"], theirs["b"]],
        rtol=1e-3,
    )
    # predictions from the same parameters must agree to numerical precision
    same = BetaGeoModel(r=theirs["r"], alpha=theirs["alpha"], a=theirs["a"], b=theirs["b"])
    for t in (1.0, 39.0, 52.0):
        np.testing.assert_allclose(
            same.expected_purchases(t, f["frequency"], f["recency"], f["T"]),
            fitter.conditional_expected_number_of_purchases_up_to_time(
                t, f["frequency"], f["recency"], f["T"]
            ),
            rtol=1e-8,
        )
    np.testing.assert_allclose(
        same.p_alive(f["frequency"], f["recency"], f["T"]),
        fitter.conditional_probability_alive(f["frequency"], f["recency"], f["T"]),
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        same.unconditional_expected_purchases(39.0),
        fitter.expected_number_of_purchases_up_to_time(39.0),
        rtol=1e-8,
    )


def test_gamma_gamma_agrees_with_lifetimes(cdnow_features: pd.DataFrame, models: BtydModels) -> None:
    repeat = cdnow_features[cdnow_features["frequency"] > 0]
    fitter = lifetimes.GammaGammaFitter(penalizer_coef=0.0).fit(repeat["frequency"], repeat["monetary"])
    p, q, v = fitter.params_["p"], fitter.params_["q"], fitter.params_["v"]
    np.testing.assert_allclose(
        [models.gamma_gamma.p, models.gamma_gamma.q, models.gamma_gamma.v], [p, q, v], rtol=1e-3
    )
    same = GammaGammaModel(p=p, q=q, v=v)
    np.testing.assert_allclose(
        same.expected_average_spend(cdnow_features["frequency"], cdnow_features["monetary"]),
        fitter.conditional_expected_average_profit(cdnow_features["frequency"], cdnow_features["monetary"]),
        rtol=1e-8,
    )


def test_holdout_prediction_matches_the_reference_total(
    cdnow_features: pd.DataFrame, models: BtydModels
) -> None:
    out = btyd_features(cdnow_features, models, {"h": 39.0})
    # 1,653 predicted repeat transactions for the 39-week holdout (lifetimes, same data)
    assert out["bg_purchases_h"].sum() == pytest.approx(1653.4, abs=0.5)
    assert set(out.columns) == {"p_alive", "gg_avg_spend", "bg_purchases_h", "bg_p_buy_h", "btyd_spend_h"}


def test_probability_of_a_purchase_matches_lifetimes(
    cdnow_features: pd.DataFrame, models: BtydModels
) -> None:
    f = cdnow_features.iloc[:300]
    bg = models.bgnbd
    # lifetimes 0.11 has no conditional P(X(t) > 0 | history): check against a Monte Carlo of the BG/NBD
    # posterior (alive with P(alive); then lambda ~ Gamma(r + x, alpha + T) and no dropout without a purchase).
    rng = np.random.default_rng(0)
    x, tx, big_t = f["frequency"].to_numpy(), f["recency"].to_numpy(), f["T"].to_numpy()
    p_alive = bg.p_alive(x, tx, big_t)
    lam = rng.gamma(bg.r + x[:, None], 1.0 / (bg.alpha + big_t[:, None]), size=(len(x), 20000))
    mc = p_alive * (1 - np.exp(-lam * 10.0)).mean(axis=1)
    np.testing.assert_allclose(bg.prob_purchase_within(10.0, x, tx, big_t), mc, atol=0.01)
    assert np.all(bg.prob_purchase_within(10.0, x, tx, big_t) <= p_alive + 1e-12)


def test_fits_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="recency"):
        BetaGeoModel.fit([1.0], [5.0], [2.0])
    with pytest.raises(ValueError, match="repeat customers"):
        GammaGammaModel.fit([0.0, 0.0], [0.0, 0.0])


def test_fit_is_unit_free(cdnow_features: pd.DataFrame, models: BtydModels) -> None:
    """The same data in days gives the same r, a, b and alpha x 7: the optimiser does not depend on the unit."""
    f = cdnow_features
    days = BetaGeoModel.fit(f["frequency"], f["recency"] * 7, f["T"] * 7)
    assert days.r == pytest.approx(models.bgnbd.r, rel=1e-3)
    assert days.alpha == pytest.approx(models.bgnbd.alpha * 7, rel=1e-3)
    assert days.b == pytest.approx(models.bgnbd.b, rel=1e-3)
