"""Metrics on hand-computed cases, including ties and degenerate predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from valuation.metrics import decile_mape, evaluate_predictions, normalized_gini, top_decile_lift


def test_errors_by_hand() -> None:
    m = evaluate_predictions(np.array([0.0, 2.0, 4.0]), np.array([1.0, 2.0, 1.0]))
    assert m["mse"] == pytest.approx((1 + 0 + 9) / 3)
    assert m["mae"] == pytest.approx((1 + 0 + 3) / 3)
    assert m["rmse"] == pytest.approx(math.sqrt(10 / 3))
    assert m["total_pred"] == 4.0 and m["total_actual"] == 6.0
    assert m["total_ratio"] == pytest.approx(4 / 6)


def test_gini_perfect_reversed_and_constant() -> None:
    actual = np.array([0.0, 0.0, 1.0, 3.0, 10.0])
    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    assert normalized_gini(actual, actual * 5 + 1) == pytest.approx(1.0)  # only the order matters
    assert normalized_gini(actual, -actual) < 0
    assert normalized_gini(actual, np.zeros(5)) == pytest.approx(0.0)


def test_gini_does_not_depend_on_row_order_within_ties() -> None:
    actual = np.array([5.0, 0.0, 0.0, 1.0])
    pred = np.array([1.0, 1.0, 0.0, 0.0])
    flipped = normalized_gini(actual[::-1].copy(), pred[::-1].copy())
    assert normalized_gini(actual, pred) == pytest.approx(flipped)


def test_gini_by_hand() -> None:
    # order by pred: actual [3, 1, 0]; concentration points (1/3, 3/4), (2/3, 1), (1, 1)
    actual, pred = np.array([0.0, 1.0, 3.0]), np.array([0.1, 0.5, 0.9])
    area = (1 / 3) * (0 + 0.75) / 2 + (1 / 3) * (0.75 + 1) / 2 + (1 / 3) * (1 + 1) / 2
    assert normalized_gini(actual, pred) == pytest.approx(1.0)
    assert normalized_gini(actual, pred[::-1].copy()) == pytest.approx(-(area - 0.5) / (area - 0.5))


def test_top_decile_lift() -> None:
    actual = np.r_[np.full(10, 10.0), np.zeros(90)]
    assert top_decile_lift(actual, actual) == pytest.approx(10.0)
    assert top_decile_lift(actual, np.zeros(100)) == pytest.approx(1.0)  # all tied: the average
    assert top_decile_lift(actual, -actual) == pytest.approx(0.0)


def test_decile_mape() -> None:
    actual = np.arange(1.0, 101.0)
    assert decile_mape(actual, actual) == pytest.approx(0.0)
    assert decile_mape(actual, actual * 1.5) == pytest.approx(0.5)


def test_constant_prediction_has_no_correlation_and_bad_input_is_refused() -> None:
    m = evaluate_predictions(np.array([0.0, 1.0, 2.0, 3.0]), np.zeros(4))
    assert math.isnan(m["pearson"]) and math.isnan(m["spearman"])
    with pytest.raises(ValueError, match="same length"):
        evaluate_predictions(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        evaluate_predictions(np.zeros(2), np.array([0.0, np.nan]))


def test_a_separate_ranking_score_sets_only_the_ranking_metrics() -> None:
    actual = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 0.0, 5.0, 50.0, 0.0, 100.0])
    amounts = np.full(10, 25.5)  # says nothing about the order
    rank = actual + 1.0  # the perfect order
    m = evaluate_predictions(actual, amounts, rank=rank)
    assert m["spearman"] == pytest.approx(1.0) and m["gini"] == pytest.approx(1.0)
    assert m["top_decile_lift"] == pytest.approx(100.0 / actual.mean())
    plain = evaluate_predictions(actual, amounts)
    for key in ("rmse", "mae", "pearson", "total_pred", "total_ratio", "decile_mape"):
        assert m[key] == plain[key] or (np.isnan(m[key]) and np.isnan(plain[key]))
