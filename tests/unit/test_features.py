"""Transaction features on hand-computed cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from valuation.features import (
    CORE_FEATURES,
    features_for_user,
    holdout_targets,
    normalise_transactions,
    transaction_features,
)

AS_OF = pd.Timestamp("2020-02-10")


def _tx(rows: list[tuple[str, str, float]], **extra: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "date", "amount"])
    for name, values in extra.items():
        frame[name] = values
    return frame


@pytest.fixture
def tx() -> pd.DataFrame:
    return _tx(
        [
            ("a", "2020-01-01 09:00", 10.0),
            ("a", "2020-01-01 18:30", 5.0),  # same day: merged with the one above
            ("a", "2020-01-11", 20.0),
            ("a", "2020-01-31", 30.0),
            ("a", "2020-02-11", 999.0),  # after the cut-off: must not count
            ("b", "2020-02-10 23:59", 7.0),  # on the cut-off day: counts
        ]
    )


def test_rfm_of_a_repeat_buyer_by_hand(tx: pd.DataFrame) -> None:
    f = transaction_features(tx, AS_OF).loc["a"]
    assert f["frequency"] == 2  # three purchase days, two of them repeats
    assert f["recency"] == 30  # 2020-01-01 -> 2020-01-31
    assert f["T"] == 40  # 2020-01-01 -> 2020-02-10
    assert f["monetary"] == pytest.approx(25.0)  # mean of the repeat days (20, 30)
    assert f["total_spend"] == pytest.approx(65.0)
    assert f["first_spend"] == pytest.approx(15.0)
    assert f["last_spend"] == pytest.approx(30.0)
    assert f["avg_order_value"] == pytest.approx(65.0 / 3)
    assert f["days_since_last"] == 10
    assert f["ipt_mean"] == pytest.approx(15.0)  # gaps of 10 and 20 days
    assert f["ipt_std"] == pytest.approx(5.0)
    assert f["spend_last_90d"] == pytest.approx(65.0)
    assert f["orders_last_90d"] == 3
    assert f["repeat_rate"] == pytest.approx(2 / 40)
    assert f["recency_share"] == pytest.approx(30 / 40)
    # later half of the tenure (after 2020-01-21) holds 30 of 65
    assert f["spend_trend"] == pytest.approx(2 * 30 / 65 - 1)


def test_week_unit_divides_times_by_seven(tx: pd.DataFrame) -> None:
    f = transaction_features(tx, AS_OF, freq="W").loc["a"]
    assert f["recency"] == pytest.approx(30 / 7)
    assert f["T"] == pytest.approx(40 / 7)
    assert f["frequency"] == 2


def test_one_time_buyer_on_the_cutoff_day(tx: pd.DataFrame) -> None:
    f = transaction_features(tx, AS_OF).loc["b"]
    assert (f["frequency"], f["recency"], f["T"], f["monetary"]) == (0, 0, 0, 0)
    assert f["total_spend"] == 7.0
    assert math.isnan(f["ipt_mean"])


def test_nothing_after_the_cutoff_leaks(tx: pd.DataFrame) -> None:
    before = transaction_features(tx, AS_OF)
    changed = pd.concat([tx, _tx([("a", "2020-03-01", 5000.0), ("c", "2020-02-11", 1.0)])])
    changed.loc[changed["date"] == "2020-02-11", "amount"] = 1.0
    pd.testing.assert_frame_equal(before, transaction_features(changed, AS_OF))
    assert "c" not in before.index


def test_windows_count_only_recent_days() -> None:
    # 405, 71 and 9 days before the cut-off
    tx = _tx([("u", "2019-01-01", 100.0), ("u", "2019-12-01", 50.0), ("u", "2020-02-01", 10.0)])
    f = transaction_features(tx, AS_OF).loc["u"]
    assert (f["spend_last_90d"], f["orders_last_90d"]) == (60.0, 2)
    assert (f["spend_last_365d"], f["orders_last_365d"]) == (60.0, 2)
    assert f["total_spend"] == 160.0


def test_optional_columns_add_store_features() -> None:
    tx = _tx(
        [
            ("u", "2020-01-01", 80.0),
            ("u", "2020-01-05", 20.0),
            ("u", "2020-01-05", 50.0),
        ],
        order_id=["o1", "o2", "o3"],
        category=["shoes", "shoes", "bags"],
        price_tier=["premium", "budget", "luxury"],
        discount=[20.0, 0.0, 0.0],
        status=["delivered", "delivered", "returned"],
    )
    f = transaction_features(tx, AS_OF).loc["u"]
    assert f["total_spend"] == pytest.approx(100.0)  # the returned line is not a purchase
    assert f["frequency"] == 1
    assert f["n_orders"] == 2
    assert f["avg_order_value"] == pytest.approx(50.0)
    assert f["discount_share"] == pytest.approx(20.0 / 120.0)
    assert f["discounted_line_share"] == pytest.approx(0.5)
    assert f["price_tier_mean"] == pytest.approx((2 + 0) / 2)
    assert f["category_breadth"] == 1  # only shoes were kept
    assert f["return_share"] == pytest.approx(1 / 3)
    assert f["return_amount_share"] == pytest.approx(50.0 / 150.0)


def test_features_for_user_matches_the_batch(tx: pd.DataFrame) -> None:
    batch = transaction_features(tx, AS_OF)
    one = features_for_user(tx[tx["user_id"] == "a"], AS_OF)
    pd.testing.assert_series_equal(one, batch.loc["a"], check_names=False)


def test_features_for_a_user_without_purchases_are_zero() -> None:
    one = features_for_user(_tx([("z", "2021-01-01", 5.0)]), AS_OF)
    assert list(one.index) == list(CORE_FEATURES)
    assert (one == 0).all()


def test_holdout_targets_count_days_and_spend(tx: pd.DataFrame) -> None:
    y = holdout_targets(tx, "2020-01-01", "2020-01-11", users=pd.Index(["a", "b", "nobody"]))
    assert y.loc["a", "purchases"] == 2
    assert y.loc["a", "spend"] == pytest.approx(35.0)
    assert y.loc["nobody"].tolist() == [0.0, 0.0]


def test_bad_input_gets_a_clear_error() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        normalise_transactions(pd.DataFrame({"user_id": ["a"], "amount": [1.0]}))
    with pytest.raises(ValueError, match="freq"):
        transaction_features(_tx([("a", "2020-01-01", 1.0)]), AS_OF, freq="M")


def test_quantity_gives_items_per_purchase_day() -> None:
    tx = _tx(
        [("u", "2020-01-01", 10.0), ("u", "2020-01-01", 10.0), ("u", "2020-01-20", 5.0)], quantity=[2, 1, 3]
    )
    assert transaction_features(tx, AS_OF).loc["u", "items_per_day"] == pytest.approx(6 / 2)
