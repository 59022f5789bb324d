"""The final engine's tree size is chosen by its own backtest (``valuation.final_engine.fit_engine``): every size
of ``ENGINE_LEAVES`` is backtested with its blend weights and the one with the largest blended gain is kept."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from valuation.final_engine import (
    ENGINE_LEAVES,
    EngineFrame,
    backtest_weights,
    engine_model,
    fit_engine,
    rolling_frames,
)


@pytest.fixture(scope="module")
def rolling(simulated_shop_factory: Callable[..., pd.DataFrame]) -> list[EngineFrame]:
    shop = simulated_shop_factory(n_users=1500, seed=11)
    frames, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    return frames


def test_fit_engine_keeps_the_tree_size_with_the_best_backtest_gain(rolling: list[EngineFrame]) -> None:
    engine = fit_engine(rolling)
    tried = engine.blend.leaves_gain
    assert sorted(tried) == sorted(ENGINE_LEAVES)
    best = max(tried.values())
    first_best = next(n for n in ENGINE_LEAVES if tried[n] == best)  # a tie keeps the default (first)
    assert engine.blend.num_leaves == first_best
    assert engine.model.params["num_leaves"] == first_best
    assert engine.blend.backtest_gain == pytest.approx(best)
    trees = engine.model.spend_booster.dump_model()["tree_info"]  # type: ignore[union-attr]
    assert max(t["num_leaves"] for t in trees) <= first_best
    assert f"trees of {first_best} leaves" in engine.blend.describe()
    assert engine.blend.summary()["num_leaves"] == float(first_best)


def test_backtest_gain_counts_only_targets_that_keep_a_learned_weight(rolling: list[EngineFrame]) -> None:
    weights = backtest_weights(rolling, num_leaves=3)
    assert weights.num_leaves == 3
    kept = [t for t in (weights.spend, weights.purchases) if t is not None and not t.btyd_only]
    assert weights.backtest_gain == pytest.approx(sum(t.gain for t in kept))
    assert backtest_weights(rolling, num_leaves=3) == weights  # deterministic


def test_engine_model_sets_only_the_tree_size() -> None:
    small, default = engine_model(3), engine_model()
    assert small.params["num_leaves"] == 3 and default.params["num_leaves"] == ENGINE_LEAVES[0]
    assert {k: v for k, v in small.params.items() if k != "num_leaves"} == {
        k: v for k, v in default.params.items() if k != "num_leaves"
    }
