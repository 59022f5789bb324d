"""The final engine's tree size is chosen by its own backtest (``valuation.final_engine.fit_engine``): when the
default size's learned part keeps a weight, every size of ``ENGINE_LEAVES`` is backtested with its blend weights
and the one with the largest blended gain is kept; when the default falls back to BTYD, no other size is tried."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pandas as pd
import pytest

from valuation.datasets import load_cdnow
from valuation.final_engine import (
    ENGINE_LEAVES,
    EngineFrame,
    backtest_weights,
    engine_model,
    fit_engine,
    rolling_frames,
)


@pytest.fixture(scope="module")
def cdnow_rolling() -> list[EngineFrame]:
    """The CDNOW sample's rolling origins inside its calibration period, where the learned part beats BTYD."""
    data = load_cdnow("sample")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        frames, _ = rolling_frames(
            data.transactions, data.calibration_end, (data.holdout_end - data.calibration_end).days
        )
    return frames


def test_fit_engine_keeps_the_tree_size_with_the_best_backtest_gain(cdnow_rolling: list[EngineFrame]) -> None:
    engine = fit_engine(cdnow_rolling)
    tried = engine.blend.leaves_gain
    assert sorted(tried) == sorted(ENGINE_LEAVES)
    assert tried[ENGINE_LEAVES[0]] > 0.0  # the default earned a weight, so the others were tried
    best = max(tried.values())
    first_best = next(n for n in ENGINE_LEAVES if tried[n] == best)  # a tie keeps the default (first)
    assert engine.blend.num_leaves == first_best
    assert engine.model.params["num_leaves"] == first_best
    assert engine.blend.backtest_gain == pytest.approx(best)
    trees = engine.model.spend_booster.dump_model()["tree_info"]  # type: ignore[union-attr]
    assert max(t["num_leaves"] for t in trees) <= first_best
    assert f"trees of {first_best} leaves" in engine.blend.describe()
    assert engine.blend.summary()["num_leaves"] == float(first_best)
    default = backtest_weights(cdnow_rolling)  # a target the default sends to BTYD stays with BTYD
    for target in ("spend", "purchases"):
        if getattr(default, target).btyd_only:
            assert getattr(engine.blend, target).btyd_only


def test_a_default_that_falls_back_to_btyd_tries_no_other_size(
    simulated_shop_factory: Callable[..., pd.DataFrame],
) -> None:
    """A shop drawn from BG/NBD itself: the learned part cannot beat BTYD, and a second candidate must not get a
    second chance to clear the one-standard-error threshold by luck."""
    shop = simulated_shop_factory(n_users=1500, seed=11)
    frames, _ = rolling_frames(shop, pd.Timestamp("2021-06-30"), 184)
    engine = fit_engine(frames)
    assert engine.blend.leaves_gain == {ENGINE_LEAVES[0]: 0.0}
    assert engine.blend.spend is not None and engine.blend.spend.btyd_only
    assert engine.blend.purchases is not None and engine.blend.purchases.btyd_only
    assert "trees of" not in engine.blend.describe()


def test_backtest_gain_counts_only_targets_that_keep_a_learned_weight(
    cdnow_rolling: list[EngineFrame],
) -> None:
    weights = backtest_weights(cdnow_rolling, num_leaves=3)
    assert weights.num_leaves == 3
    kept = [t for t in (weights.spend, weights.purchases) if t is not None and not t.btyd_only]
    assert kept and weights.backtest_gain == pytest.approx(sum(t.gain for t in kept))
    assert backtest_weights(cdnow_rolling, num_leaves=3) == weights  # deterministic


def test_engine_model_sets_only_the_tree_size() -> None:
    small, default = engine_model(3), engine_model()
    assert small.params["num_leaves"] == 3 and default.params["num_leaves"] == ENGINE_LEAVES[0]
    assert {k: v for k, v in small.params.items() if k != "num_leaves"} == {
        k: v for k, v in default.params.items() if k != "num_leaves"
    }
