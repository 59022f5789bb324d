"""Do profile features add to the engine? The demo acceptance measurement, with and without them.

Arms, all scored against the demo shop's hidden truth (``future_spend_12m`` of the 12 months after the data):
* ``no_profile`` - the engine trained without the profile features;
* ``rules`` - the engine with the rule profile (the no-LLM arm, what ships by default);
* ``llm`` - on a random sample, the same engine with each sampled user's profile features replaced by the LLM's
  profile (from their masked reviews, searches and views), so the only change is where the profile comes from.
The profiles themselves are also compared with the simulator's hidden traits (price sensitivity, satisfaction).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from domain.settings import Settings
from domain.store.db import get_engine
from valuation.feature_matrix import feature_matrix, load_shop_data
from valuation.profile import PROFILE_FEATURES, profile_to_features
from valuation.service import get_value_service
from valuation.training import score_frame, train_engine

log = logging.getLogger(__name__)


def _rho(a: Any, b: Any) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 3 or np.std(a[ok]) == 0 or np.std(b[ok]) == 0:
        return float("nan")
    return float(spearmanr(a[ok], b[ok]).statistic)


def measure_profile_arms(
    settings: Settings, truth: pd.DataFrame, *, llm_sample: int = 0, seed: int = 7
) -> dict[str, Any]:
    """Spearman of each arm's predicted 12-month value with ``truth.future_spend_12m`` (truth indexed by user)."""
    data = load_shop_data(get_engine(settings))
    as_of = data.last_date
    X, _ = feature_matrix(data, as_of)
    y = truth["future_spend_12m"].reindex(X.index).astype(float)
    with_prof = train_engine(data, as_of, with_profile=True)
    without = train_engine(data, as_of, with_profile=False)
    # The ranking the score is a percentile of (score_frame drops the profile columns for the arm without them).
    pred_rules = score_frame(with_prof, X)["raw_pred"]
    pred_none = score_frame(without, X)["raw_pred"]
    result: dict[str, Any] = {
        "as_of": str(as_of.date()),
        "n_users": len(X),
        "spearman": {"no_profile": _rho(pred_none, y), "rules": _rho(pred_rules, y)},
        "rules_profile_vs_hidden_traits": {
            "price_sensitivity": _rho(
                X["prof_price_sensitivity"], truth["price_sensitivity"].reindex(X.index)
            ),
            "satisfaction": _rho(X["prof_satisfaction"], truth["satisfaction"].reindex(X.index)),
        },
    }
    if llm_sample <= 0 or settings.llm == "none":
        return result

    service = get_value_service(settings)
    rng = np.random.default_rng(seed)
    sample = list(rng.choice(X.index.to_numpy(), size=min(llm_sample, len(X)), replace=False))
    rows, sources, started = [], [], time.perf_counter()
    for uid in sample:
        profile = service.profile(uid, with_llm=True)
        sources.append(profile.source)
        rows.append(profile_to_features(profile))
    elapsed = time.perf_counter() - started
    llm_feats = pd.DataFrame(rows, index=pd.Index(sample, name="user_id"))
    X_llm = X.loc[sample].copy()
    X_llm[list(PROFILE_FEATURES)] = llm_feats[list(PROFILE_FEATURES)].to_numpy()
    y_s = y.loc[sample]
    t = truth.reindex(sample)
    n_llm = sum(s == "llm" for s in sources)
    result["llm"] = {
        "sample": len(sample),
        "llm_profiles": n_llm,
        "fallbacks": len(sample) - n_llm,
        "seconds_per_user": round(elapsed / max(len(sample), 1), 2),
        "spearman_on_sample": {
            "no_profile": _rho(pred_none.loc[sample], y_s),
            "rules": _rho(pred_rules.loc[sample], y_s),
            "llm": _rho(score_frame(with_prof, X_llm)["raw_pred"], y_s),
        },
        "profile_vs_hidden_traits_on_sample": {
            "rules_price_sensitivity": _rho(X.loc[sample, "prof_price_sensitivity"], t["price_sensitivity"]),
            "llm_price_sensitivity": _rho(llm_feats["prof_price_sensitivity"], t["price_sensitivity"]),
            "rules_satisfaction": _rho(X.loc[sample, "prof_satisfaction"], t["satisfaction"]),
            "llm_satisfaction": _rho(llm_feats["prof_satisfaction"], t["satisfaction"]),
        },
    }
    return result
