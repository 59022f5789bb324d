"""ValueModel: deterministic LightGBM spend/purchase regressors with contributions and save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from valuation.learned import ValueModel


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    n = 3000
    X = pd.DataFrame(
        {
            "frequency": rng.poisson(2, n).astype(float),
            "monetary": rng.gamma(3, 10, n),
            "noise": rng.normal(size=n),
        },
        index=pd.Index([f"u{i}" for i in range(n)], name="user_id"),
    )
    purchases = rng.poisson(0.3 * X["frequency"].to_numpy() + 0.05)
    spend = purchases * X["monetary"].to_numpy() * rng.gamma(5, 0.2, n)
    return X, spend, purchases.astype(float)


def test_predictions_follow_the_signal(data: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    X, spend, purchases = data
    model = ValueModel(num_boost_round=100).fit(X, spend, purchases)
    pred = model.predict(X)
    assert list(pred.columns) == ["pred_spend", "pred_purchases"] and pred.index.equals(X.index)
    assert (pred >= 0).all().all()
    assert np.corrcoef(pred["pred_purchases"], 0.3 * X["frequency"])[0, 1] > 0.9
    importance = model.feature_importance()
    assert importance.index[-1] == "noise"


def test_training_is_deterministic_and_survives_save_load(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    X, spend, purchases = data
    a = ValueModel(num_boost_round=60).fit(X, spend, purchases)
    b = ValueModel(num_boost_round=60).fit(X, spend, purchases)
    pd.testing.assert_frame_equal(a.predict(X), b.predict(X))
    a.spend_scale = 1.25
    loaded = ValueModel.load(a.save(tmp_path / "models" / "value.json"))
    pd.testing.assert_frame_equal(a.predict(X), loaded.predict(X))
    assert loaded.feature_names == ["frequency", "monetary", "noise"]


def test_contributions_add_up_to_the_log_prediction(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, spend, purchases = data
    model = ValueModel(num_boost_round=60).fit(X, spend, purchases)
    contrib = model.contributions(X.iloc[:50])
    assert list(contrib.columns) == ["frequency", "monetary", "noise", "bias"]
    np.testing.assert_allclose(
        contrib.sum(axis=1), np.log(model.predict(X.iloc[:50])["pred_spend"]), rtol=1e-6
    )


def test_base_margin_is_required_once_used(data: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    X, spend, purchases = data
    margin = np.log(np.maximum(X["frequency"].to_numpy() * X["monetary"].to_numpy() * 0.3, 1e-3))
    model = ValueModel(num_boost_round=30).fit(X, spend, purchases, base_margin=margin)
    with pytest.raises(ValueError, match="margin"):
        model.predict(X)
    assert model.predict(X, base_margin=margin)["pred_spend"].gt(0).all()


def test_bad_input_is_refused(data: tuple[pd.DataFrame, np.ndarray, np.ndarray]) -> None:
    X, spend, purchases = data
    with pytest.raises(ValueError, match="non-negative"):
        ValueModel().fit(X, -spend, purchases)
    with pytest.raises(ValueError, match="log-link"):
        ValueModel(spend_objective={"objective": "regression"})
    model = ValueModel(num_boost_round=10).fit(X, spend, purchases)
    with pytest.raises(ValueError, match="missing"):
        model.predict(X.drop(columns=["noise"]))
    with pytest.raises(RuntimeError, match="not fitted"):
        ValueModel().predict(X)


def test_path_attribution_adds_up_and_agrees_with_treeshap(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    X, spend, purchases = data
    model = ValueModel(num_boost_round=80).fit(X, spend, purchases)
    shap = model.contributions(X)
    path = model.contributions(X, method="path")
    assert list(path.columns) == list(shap.columns)
    np.testing.assert_allclose(path.sum(axis=1), shap.sum(axis=1), rtol=1e-9)  # both sum to the raw score
    # the noise feature matters little under both; the signal features carry the same sign on average
    features = ["frequency", "monetary"]
    assert (np.sign(path[features]).eq(np.sign(shap[features])).mean() > 0.8).all()
    assert path["noise"].abs().mean() < path["frequency"].abs().mean()
    with pytest.raises(ValueError, match="method"):
        model.contributions(X, method="lime")


def test_path_attribution_on_a_small_shop_whose_trees_have_one_leaf(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    """40 users and min_data_in_leaf 40: no split is possible, every tree is a single leaf (the KeyError
    'internal_value' seen on a 40-user shop)."""
    X, spend, purchases = data
    small = X.iloc[:40]
    model = ValueModel(num_boost_round=20).fit(small, spend[:40], purchases[:40])
    path = model.contributions(small, method="path")
    shap = model.contributions(small)
    np.testing.assert_allclose(path.sum(axis=1), shap.sum(axis=1), rtol=1e-9)
    assert (path[["frequency", "monetary", "noise"]] == 0).all().all()  # no split: everything is bias
    np.testing.assert_allclose(np.exp(path["bias"]), model.predict(small)["pred_spend"], rtol=1e-9)


def test_one_walk_gives_the_predictions_and_the_path_contributions_exactly(
    data: tuple[pd.DataFrame, np.ndarray, np.ndarray],
) -> None:
    """The batch's single walk of the spend trees equals ``predict`` and ``contributions(method="path")`` bit
    for bit (stored scores and reasons do not depend on which path computed them), single-leaf trees included."""
    X, spend, purchases = data
    for rows, rounds in ((X, 80), (X.iloc[:40], 20)):
        model = ValueModel(num_boost_round=rounds).fit(rows, spend[: len(rows)], purchases[: len(rows)])
        pred, contrib = model.predict_explained(rows)
        pd.testing.assert_frame_equal(pred, model.predict(rows), check_exact=True)
        raw = model.spend_booster.predict(rows.to_numpy(), raw_score=True)  # type: ignore[union-attr]
        assert np.array_equal(pred["pred_spend"].to_numpy(), np.exp(raw))
        # Saabas by definition: walk each tree from the root, crediting each split's feature.
        tables = model.spend_booster.dump_model()["tree_info"]  # type: ignore[union-attr]
        leaves = model.spend_booster.predict(rows.to_numpy(), pred_leaf=True).reshape(len(rows), -1)  # type: ignore[union-attr]
        for i in (0, len(rows) // 2):
            expected = np.zeros(4)
            for tree, leaf in zip(tables, leaves[i], strict=True):
                node = tree["tree_structure"]
                expected[3] += node.get("internal_value", node.get("leaf_value"))
                while "split_feature" in node:
                    child = _child_towards(node, int(leaf))
                    value = child.get("internal_value", child.get("leaf_value"))
                    expected[node["split_feature"]] += value - node["internal_value"]
                    node = child
            np.testing.assert_allclose(contrib.iloc[i].to_numpy(), expected, rtol=1e-9, atol=1e-12)
        pd.testing.assert_frame_equal(contrib, model.contributions(rows, method="path"), check_exact=True)


def _child_towards(node: dict, leaf: int) -> dict:
    """The child of ``node`` whose subtree holds leaf number ``leaf``."""

    def leaves(n: dict) -> set[int]:
        return {n["leaf_index"]} if "leaf_index" in n else leaves(n["left_child"]) | leaves(n["right_child"])

    return node["left_child"] if leaf in leaves(node["left_child"]) else node["right_child"]
