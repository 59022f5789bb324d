"""Unit-test fixtures: a simulated transaction history for the valuation tests (splits, blending)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest


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


@pytest.fixture(scope="session")
def simulated_shop_factory() -> Callable[..., pd.DataFrame]:
    return simulated_shop
