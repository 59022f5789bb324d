"""Churn and next-purchase quality of the behaviour classifiers' recipes (``VARIANTS``: the engine's three fold
boosters of 50 trees, the 150 trees before ``lgbm-rolling-v6``, one booster of 150 trees), on a generated demo
shop against its hidden next 12 months.

Every variant is fitted on the same training frames (``valuation.training.fit_behaviour``: the store's history
up to its last day) and score the same feature matrix (every registered user as of that day, as ``score --all``
does); the truth is the generator's ``truth.parquet`` (``churned``: no order in the next 12 months,
``future_purchase_30d``). Reports AUC, Brier score and log loss per target, and the CPU seconds of scoring.

Run: ``python -m bench.behaviour_quality [N_USERS] [SEED ...]`` (default 3000 users, the demo's size, seed 7).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from domain.demo import generate_demo_shop
from domain.ingest import ingest_demo
from domain.settings import Settings
from domain.store.db import get_engine
from valuation.feature_matrix import feature_matrix, load_shop_data
from valuation.training import fit_behaviour, training_windows

# Recipes compared: (three calibrated fold boosters averaged, trees per booster). Tree walks per user and
# classifier: 450, 150, 150.
VARIANTS: dict[str, tuple[bool, int]] = {
    "three_boosters_150": (True, 150),
    "one_booster_150": (False, 150),
    "three_boosters_50": (True, 50),
}
# (prediction, truth column): churn is P(no order in 12 months), next purchase P(an order within 30 days).
TARGETS: dict[str, str] = {"churn": "churned", "next_purchase_30d": "future_purchase_30d"}


def _quality(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "log_loss": round(float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6))), 4),
        "mean_pred": round(float(p.mean()), 4),
    }


def compare(n_users: int, seed: int) -> dict[str, Any]:
    """Both variants on one generated shop of ``n_users`` (``seed``)."""
    with tempfile.TemporaryDirectory(prefix="shopguide-behaviour-") as tmp:
        root = Path(tmp)
        generate_demo_shop(root / "demo", seed=seed, n_users=n_users)
        settings = Settings(
            data_dir=root / "data", llm="none", database_url="", encryption_key="", chroma_url=""
        )
        ingest_demo(settings, root / "demo", progress=False)
        engine = get_engine(settings)
        data = load_shop_data(engine)
        truth = pd.read_parquet(root / "demo" / "truth.parquet").set_index("user_id")
        engine.dispose()
    as_of = data.last_date
    churn_window = max(training_windows(data, as_of))
    cache: dict[pd.Timestamp, pd.DataFrame] = {}
    X, _ = feature_matrix(data, as_of)
    truth = truth.reindex(X.index)
    out: dict[str, Any] = {
        "n_users": n_users,
        "seed": seed,
        "scored": len(X),
        "churn_window_days": churn_window,
    }
    for label, (ensemble, n_estimators) in VARIANTS.items():
        fit_started = time.process_time()
        classifiers = fit_behaviour(
            data, as_of, churn_window, cache, ensemble=ensemble, n_estimators=n_estimators
        )
        fit_cpu = time.process_time() - fit_started
        scored_started = time.process_time()
        predictions = {c.name: c.predict(X) for c in classifiers}
        score_cpu = time.process_time() - scored_started
        out[label] = {
            name: _quality(truth[column].astype(bool).to_numpy(), predictions[name])
            for name, column in TARGETS.items()
        } | {"fit_cpu_s": round(fit_cpu, 2), "score_cpu_s": round(score_cpu, 3)}
    return out


def main(n_users: int = 3000, seeds: tuple[int, ...] = (7,)) -> None:
    for seed in seeds:
        print(json.dumps(compare(n_users, seed)))


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 3000,
        tuple(int(s) for s in sys.argv[2:]) or (7,),
    )
