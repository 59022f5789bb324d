"""Batch assessment of the whole population (no LLM): reasons from the model's contributions, templated
explanations in each user's language, stored in ``value_assessments`` (replacing the previous run)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from tqdm import tqdm

from domain.models import Reason, Segment
from domain.store.schema import users, value_assessments
from valuation.engine import drop_profile
from valuation.explain import feature_label, template_explanation
from valuation.training import TrainedEngine

CHUNK = 5_000
N_REASONS = 5


def assess_population(
    engine: Engine,
    trained: TrainedEngine,
    population: pd.DataFrame,
    features: pd.DataFrame,
    *,
    progress: bool = True,
    with_reasons: bool = True,
) -> pd.DataFrame:
    """One row per user: the flat assessment columns plus ``payload`` (the full ValueAssessment as JSON).

    Vectorised per chunk (contributions, top-k by absolute size, labels) so the Python work per user is only
    building its dict and its templated sentence."""
    with engine.connect() as conn:
        lang = dict(conn.execute(select(users.c.user_id, users.c.language)).fetchall())
    X = features if trained.with_profile else drop_profile(features)
    names = trained.value_model.feature_names
    labels = [feature_label(n) for n in names]
    as_of = trained.as_of.date().isoformat()
    cols = {c: population[c].to_numpy() for c in population.columns}
    rows: list[dict[str, Any]] = []
    bar = tqdm(total=len(population), desc="assess", unit="user", disable=not progress)
    for start in range(0, len(population), CHUNK):
        stop = min(start + CHUNK, len(population))
        ids = population.index[start:stop]
        chunk = X.loc[ids]
        # TreeSHAP dominates the batch cost; without reasons the explanation is the score sentence alone.
        if with_reasons:
            contrib = trained.value_model.contributions(chunk).to_numpy()[:, : len(names)]
        else:
            contrib = np.zeros((len(ids), len(names)))
        values = chunk.reindex(columns=names).to_numpy(dtype=float)
        contrib = np.where(np.isnan(contrib), 0.0, contrib)
        top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, : N_REASONS if with_reasons else 0]
        for j, uid in enumerate(ids):
            i = start + j
            reasons = []
            for f in top[j]:
                value = values[j, f]
                reasons.append(
                    Reason.model_construct(
                        feature=names[f],
                        value=None if np.isnan(value) else round(float(value), 3),
                        contribution=round(float(contrib[j, f]), 4),
                        label_en=labels[f][0],
                        label_zh=labels[f][1],
                    )
                )
            segment = Segment(cols["segment"][i])
            score, spend = float(cols["score"][i]), float(cols["predicted_spend_12m"][i])
            language = "en" if lang.get(uid) == "en" else "zh"
            rows.append(
                {
                    "user_id": uid,
                    "as_of": as_of,
                    "score": score,
                    "segment": segment.value,
                    "predicted_spend_12m": round(spend, 2),
                    "predicted_purchases_12m": round(float(cols["predicted_purchases_12m"][i]), 3),
                    "p_alive": round(float(cols["p_alive"][i]), 4),
                    "price_sensitivity": round(float(cols["price_sensitivity"][i]), 3),
                    "churn_risk": round(float(cols["churn_risk"][i]), 4),
                    "next_purchase_prob_30d": round(float(cols["next_purchase_prob_30d"][i]), 4),
                    "likely_categories": list(cols["likely_categories"][i]),
                    "reasons": [r.__dict__ for r in reasons],
                    "explanation": template_explanation(language, score, segment, spend, reasons),
                    "model_version": trained.version,
                }
            )
        bar.update(len(ids))
    bar.close()
    table = pd.DataFrame(rows).set_index("user_id")
    table["payload"] = rows
    _store(engine, rows)
    return table


def _store(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Replace the stored batch (one transaction: readers see the old run or the new one, never half)."""
    records = [
        {
            "user_id": r["user_id"],
            "as_of": date.fromisoformat(str(r["as_of"])),
            "score": r["score"],
            "segment": r["segment"],
            "predicted_spend_12m": r["predicted_spend_12m"],
            "payload": r,
            "model_version": r["model_version"],
        }
        for r in rows
    ]
    with engine.begin() as conn:
        conn.execute(value_assessments.delete())
        for start in range(0, len(records), CHUNK):
            conn.execute(value_assessments.insert(), records[start : start + CHUNK])
