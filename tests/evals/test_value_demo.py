"""Demo acceptance: the engine's score against the demo shop's hidden truth (the 12 months after the data).

* score vs ``future_spend_12m``: Spearman >= 0.7 (issue 4), with and without the profile features;
* next-purchase (30 days) and churn (no order in 12 months) predictions scored with AUC (issue 6);
* likely next categories against the categories actually bought next, vs a popularity baseline.
The figures are printed (run with ``-s``) for the closing note.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from evals.profile_arms import measure_profile_arms
from valuation.service import get_value_service

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def truth(demo_settings) -> pd.DataFrame:
    return pd.read_parquet(demo_settings.data_dir / "demo" / "truth.parquet").set_index("user_id")


@pytest.fixture(scope="module")
def population(demo_settings) -> pd.DataFrame:
    return get_value_service(demo_settings).population


def test_score_tracks_hidden_future_value(population, truth):
    future = truth["future_spend_12m"].reindex(population.index)
    rho = spearmanr(population["score"], future).statistic
    total_ratio = population["predicted_spend_12m"].sum() / future.sum()
    # top decile by score holds far more of next year's spend than its 10% share
    top = population["score"] >= population["score"].quantile(0.9)
    top_share = future[top].sum() / future.sum()
    print(json.dumps({"spearman": rho, "total_ratio": total_ratio, "top_decile_spend_share": top_share}))
    assert rho >= 0.7
    assert 0.75 <= total_ratio <= 1.25
    assert top_share > 0.3


def test_profile_feature_arms(demo_settings, truth):
    arms = measure_profile_arms(demo_settings, truth)
    print(json.dumps(arms, indent=2))
    assert arms["spearman"]["rules"] >= 0.7 and arms["spearman"]["no_profile"] >= 0.7
    # the rule profile must track the simulator's hidden price sensitivity (a signal, not noise)
    assert arms["rules_profile_vs_hidden_traits"]["price_sensitivity"] > 0.3


def test_behaviour_predictions_have_real_skill(population, truth):
    t = truth.reindex(population.index)
    auc_next = roc_auc_score(t["future_purchase_30d"], population["next_purchase_prob_30d"])
    auc_churn = roc_auc_score(t["churned"], population["churn_risk"])
    print(json.dumps({"auc_next_purchase_30d": auc_next, "auc_churn": auc_churn}))
    assert auc_next > 0.75 and auc_churn > 0.8
    # calibration in the large: the mean predicted probability is close to the observed rate
    assert abs(population["next_purchase_prob_30d"].mean() - t["future_purchase_30d"].mean()) < 0.1
    assert abs(population["churn_risk"].mean() - t["churned"].mean()) < 0.1


def test_likely_categories_beat_popularity(population, truth, demo_settings):
    t = truth.reindex(population.index)
    buyers = t["future_categories"].map(len) > 0
    hit = np.mean(
        [
            bool(set(a) & set(b))
            for a, b in zip(
                population.loc[buyers, "likely_categories"], t.loc[buyers, "future_categories"], strict=True
            )
        ]
    )
    lines = pd.read_csv(demo_settings.data_dir / "demo" / "order_lines.csv", usecols=["product_id"])
    cats = pd.read_json(demo_settings.data_dir / "demo" / "products.jsonl", lines=True).set_index(
        "product_id"
    )["category"]
    top3 = set(
        lines["product_id"].map(cats).value_counts().index[:3]
    )  # history only: no peeking at the future
    baseline = np.mean([bool(top3 & set(b)) for b in t.loc[buyers, "future_categories"]])
    print(json.dumps({"likely_category_hit@3": hit, "popularity_hit@3": baseline}))
    assert hit > baseline + 0.2
