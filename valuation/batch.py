"""Batch assessment of the whole population (no LLM): reasons from the model's contributions, templated
explanations in each user's language, stored in ``value_assessments`` (replacing the previous run)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from tqdm import tqdm

from domain.models import Segment
from domain.store.schema import users, value_assessments
from valuation.engine import drop_profile
from valuation.explain import template_explanation, top_reasons
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
) -> pd.DataFrame:
    """One row per user: the flat assessment columns plus ``payload`` (the full ValueAssessment as JSON)."""
    with engine.connect() as conn:
        lang = dict(conn.execute(select(users.c.user_id, users.c.language)).fetchall())
    X = features if trained.with_profile else drop_profile(features)
    as_of = trained.as_of.date()
    rows: list[dict[str, object]] = []
    now = datetime.now(UTC).replace(tzinfo=None)
    bar = tqdm(total=len(population), desc="assess", unit="user", disable=not progress)
    for start in range(0, len(population), CHUNK):
        ids = population.index[start : start + CHUNK]
        contrib = trained.value_model.contributions(X.loc[ids])
        values = X.loc[ids]
        for uid in ids:
            row = population.loc[uid]
            reasons = top_reasons(contrib.loc[uid].to_dict(), values.loc[uid].to_dict(), N_REASONS)
            segment = Segment(row["segment"])
            language = "en" if lang.get(uid) == "en" else "zh"
            explanation = template_explanation(
                language, float(row["score"]), segment, float(row["predicted_spend_12m"]), reasons
            )
            payload = {
                "user_id": uid,
                "as_of": as_of.isoformat(),
                "score": float(row["score"]),
                "segment": segment.value,
                "predicted_spend_12m": round(float(row["predicted_spend_12m"]), 2),
                "predicted_purchases_12m": round(float(row["predicted_purchases_12m"]), 3),
                "p_alive": round(float(row["p_alive"]), 4),
                "price_sensitivity": round(float(row["price_sensitivity"]), 3),
                "churn_risk": round(float(row["churn_risk"]), 4),
                "next_purchase_prob_30d": round(float(row["next_purchase_prob_30d"]), 4),
                "likely_categories": list(row["likely_categories"]),
                "reasons": [r.model_dump() for r in reasons],
                "explanation": explanation,
                "model_version": trained.version,
            }
            rows.append(payload)
        bar.update(len(ids))
    bar.close()
    table = pd.DataFrame(rows).set_index("user_id")
    table["payload"] = [json.dumps(r, ensure_ascii=False) for r in rows]
    _store(engine, table, now)
    return table


def _store(engine: Engine, table: pd.DataFrame, now: datetime) -> None:
    records = [
        {
            "user_id": uid,
            "as_of": datetime.fromisoformat(str(r["as_of"])).date(),
            "score": float(r["score"]),
            "segment": str(r["segment"]),
            "predicted_spend_12m": float(r["predicted_spend_12m"]),
            "payload": json.loads(str(r["payload"])),
            "model_version": str(r["model_version"]),
        }
        for uid, r in table.iterrows()
    ]
    del now  # the table has no timestamp column; as_of and model_version identify the run
    with engine.begin() as conn:
        conn.execute(value_assessments.delete())
        for start in range(0, len(records), CHUNK):
            conn.execute(value_assessments.insert(), records[start : start + CHUNK])


def score_summary(table: pd.DataFrame) -> dict[str, float]:
    return {"n": float(len(table)), "mean_score": float(np.mean(table["score"])) if len(table) else 0.0}
