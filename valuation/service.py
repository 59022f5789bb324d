"""``ValueService``: the value engine as the app uses it (tools, recommender, UI, CLI).

* ``train()`` fits the engine on the store's history (rolling origins, see :mod:`valuation.training`), scores the
  whole population once and saves both under ``settings.models_dir / "value_engine"``.
* ``assess(user_id)`` reads the precomputed population row (percentile, segment, predictions), computes that
  user's signed contributions, builds the profile (LLM when ``with_llm`` and a provider is set, else rules) and
  an explanation in the user's language. Cheap: no population work per call.
* ``assess_all(out=...)`` streams every user of the store through the engine in chunks (``valuation.batch``),
  upserting ``value_assessments`` and writing a Parquet or CSV file. Nothing trains until first use; a saved
  engine is reused across processes. A store with more than ``settings.value_train_users`` users trains on a
  systematic sample of them, which is also the reference population of the percentile scores.
"""

from __future__ import annotations

import json
import logging
import pickle
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine

from domain.cache import per_settings
from domain.models import Language, UserProfile, ValueAssessment
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import sample_user_ids
from domain.store.schema import products, reviews, users
from valuation.batch import CHUNK_USERS, BatchSummary, ScoringJob, score_chunk, stream_assessments
from valuation.behaviour import load_events
from valuation.btyd import BtydModels
from valuation.explain import llm_explanation, template_explanation, top_reasons
from valuation.feature_matrix import (
    ShopData,
    _transactions,
    drop_profile,
    last_activity_day,
    load_shop_data,
    one_user_data,
)
from valuation.learned import ValueModel
from valuation.profile import llm_profile, profile_prompt_text, rule_profile
from valuation.segments import assign_segment
from valuation.training import (
    ENGINE_NAME,
    TrainedEngine,
    score_population,
    train_engine,
)

log = logging.getLogger(__name__)

ENGINE_DIR = "value_engine"
N_REASONS = 5


class UnknownUser(KeyError):
    """No such user in the store (or registered after the engine's as-of date)."""


class ValueService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._trained: TrainedEngine | None = None
        self._population: pd.DataFrame | None = None
        self._features: pd.DataFrame | None = None
        self._btyd: BtydModels | None = None
        self._sorted_raw: np.ndarray | None = None

    # ---- lifecycle ------------------------------------------------------------------------------------------
    @property
    def engine(self) -> Engine:
        return get_engine(self.settings)

    @property
    def model_dir(self) -> Path:
        return self.settings.models_dir / ENGINE_DIR

    def train(self, *, with_profile: bool = True) -> dict[str, Any]:
        """Fit on the store's data (a systematic sample of ``settings.value_train_users`` users when the store
        has more), score that population, save; returns the training metadata. The population is the reference
        ranking every score is a percentile of."""

        with self._lock:
            data = self._population_data()
            as_of = last_activity_day(self.engine)
            trained = train_engine(data, as_of, with_profile=with_profile)
            trained.meta["population_users"] = len(data.users)
            population, features, btyd = score_population(trained, data, trained.as_of)
            self._set(trained, population, features, btyd)
            self._save()
            log.info("value engine %s trained: %s", trained.version, trained.meta.get("backtest"))
            return {"version": trained.version, "as_of": str(trained.as_of.date()), **trained.meta}

    def _population_data(self) -> ShopData:
        """The store's data for training and the reference population: everyone, or a systematic sample of
        ``settings.value_train_users`` users when the store has more."""

        return load_shop_data(
            self.engine, scope=sample_user_ids(self.engine, self.settings.value_train_users)
        )

    def _set(
        self, trained: TrainedEngine, population: pd.DataFrame, features: pd.DataFrame, btyd: BtydModels
    ) -> None:
        self._trained, self._population, self._features, self._btyd = trained, population, features, btyd
        self._sorted_raw = np.sort(population["raw_pred"].to_numpy())

    def refresh(self) -> int:
        """Rescore the reference population on the store's current data with the trained engine (no
        retraining); returns the number of users scored. Use after an ingest; ``train()`` when the data has
        moved on a lot."""

        with self._lock:
            self.ensure_ready()
            assert self._trained is not None
            data, as_of = self._population_data(), last_activity_day(self.engine)
            population, features, btyd = score_population(self._trained, data, as_of)
            self._set(self._trained, population, features, btyd)
            self._save()
            return len(population)

    def _save(self) -> None:
        assert self._trained is not None and self._population is not None and self._features is not None
        self.model_dir.mkdir(parents=True, exist_ok=True)
        self._trained.value_model.save(self.model_dir / "value_model.json")
        rest = {k: v for k, v in self._trained.__dict__.items() if k != "value_model"}
        tmp = self.model_dir / "engine.pkl.tmp"
        tmp.write_bytes(pickle.dumps(rest))
        tmp.replace(self.model_dir / "engine.pkl")
        self._population.to_parquet(self.model_dir / "population.parquet")
        self._features.to_parquet(self.model_dir / "features.parquet")
        assert self._btyd is not None
        (self.model_dir / "btyd.json").write_text(self._btyd.model_dump_json())
        (self.model_dir / "meta.json").write_text(
            json.dumps({"version": self._trained.version, **self._trained.meta}, default=str, indent=2)
        )

    def _load(self) -> bool:
        files = [
            self.model_dir / n
            for n in ("value_model.json", "engine.pkl", "population.parquet", "features.parquet", "btyd.json")
        ]
        if not all(f.exists() for f in files):
            return False
        try:
            rest = pickle.loads(files[1].read_bytes())  # our own file, written by _save
            trained = TrainedEngine(value_model=ValueModel.load(files[0]), **rest)
            if not trained.version.startswith(f"{ENGINE_NAME}-"):
                log.info("saved value engine %s is from another engine version: retraining", trained.version)
                return False
            btyd = BtydModels.model_validate_json(files[4].read_text())
            self._set(trained, pd.read_parquet(files[2]), pd.read_parquet(files[3]), btyd)
        except Exception as exc:  # a stale or corrupt engine is retrained rather than crashing the caller
            log.warning("saved value engine unreadable (%s): retraining", exc)
            return False
        return True

    def ensure_ready(self) -> None:
        with self._lock:
            if self._population is None and not self._load():
                self.train()

    @property
    def model_version(self) -> str:
        self.ensure_ready()
        assert self._trained is not None
        return self._trained.version

    @property
    def population(self) -> pd.DataFrame:
        """Every user's outputs (score, segment, predictions), index user_id."""
        self.ensure_ready()
        assert self._population is not None
        return self._population

    @property
    def features(self) -> pd.DataFrame:
        """Every user's feature row as of the engine's date (the model's inputs), index user_id."""
        self.ensure_ready()
        assert self._features is not None
        return self._features

    # ---- one user -------------------------------------------------------------------------------------------
    def _user_language(self, user_id: str) -> Language:
        with self.engine.connect() as conn:
            row = conn.execute(select(users.c.language).where(users.c.user_id == user_id)).first()
        return "en" if row is not None and row[0] == "en" else "zh"

    def _activity(self, user_id: str) -> tuple[pd.DataFrame, dict[str, list[str]]]:
        """The user's weighted category/brand activity (for the rule profile) and their texts (for the LLM)."""

        tx = _transactions(self.engine, [user_id])
        ev = load_events(self.engine, [user_id]).sort_values("ts", ascending=False)
        with self.engine.connect() as conn:
            rv = conn.execute(
                select(reviews.c.text, reviews.c.rating)
                .where(reviews.c.user_id == user_id)
                .order_by(reviews.c.created_at.desc())
                .limit(12)
            ).fetchall()
            ids = set(tx["product_id"]) | set(ev["product_id"].dropna()) if len(tx) or len(ev) else set()
            prod = pd.DataFrame(
                conn.execute(
                    select(
                        products.c.product_id, products.c.category, products.c.brand, products.c.title_en
                    ).where(products.c.product_id.in_(list(ids)))
                ).fetchall(),
                columns=["product_id", "category", "brand", "title"],
            ).set_index("product_id")
        weights = {"add_to_cart": 2.0, "click": 1.0, "view": 0.5}
        rows = [(pid, 3.0) for pid in tx["product_id"]] + [
            (pid, weights.get(kind, 0.0))
            for pid, kind in zip(ev["product_id"], ev["kind"], strict=False)
            if pid
        ]
        act = pd.DataFrame(rows, columns=["product_id", "weight"])
        act = act.join(prod, on="product_id")
        texts = {
            "reviews": [f"({r.rating}/5) {r.text}" for r in rv],
            "searches": list(pd.unique(ev.loc[ev["kind"] == "search", "query"].dropna()))[:12],
            "viewed": list(pd.unique(prod["title"].reindex(ev["product_id"].dropna()).dropna()))[:12],
            "bought": list(pd.unique(prod["title"].reindex(tx["product_id"].iloc[::-1]).dropna()))[:12],
        }
        return act, texts

    def profile(self, user_id: str, *, with_llm: bool = True) -> UserProfile:
        """The user's profile: the LLM's when asked and available, else (or on any failure) the rule profile."""
        features = self._feature_row(user_id)
        act, texts = self._activity(user_id)
        rules = rule_profile(features, act)
        if not with_llm or self.settings.llm == "none":
            return rules
        text = profile_prompt_text(texts["reviews"], texts["searches"], texts["viewed"], texts["bought"])
        return llm_profile(self.settings, self.engine, user_id, text, rules=rules)

    def _feature_row(self, user_id: str) -> pd.Series:
        self._ensure_scored(user_id)
        assert self._features is not None
        return self._features.loc[user_id]

    def _ensure_scored(self, user_id: str) -> None:
        """Score a user missing from the population (registered or first seen after the last run) on demand:
        their features with the population's BTYD fit, placed in the population's predicted-value ranking."""

        self.ensure_ready()
        with self._lock:
            assert self._population is not None and self._features is not None and self._trained is not None
            if user_id in self._population.index:
                return
            data = one_user_data(self.engine, user_id)
            if data is None:
                raise UnknownUser(user_id)
            assert self._btyd is not None and self._sorted_raw is not None
            out, X, _ = score_chunk(
                self._trained,
                data,
                self._btyd,
                self._sorted_raw,
                self._features.columns,
                user_ids=pd.Index([user_id], name="user_id"),
            )
            self._population = pd.concat([self._population, out[self._population.columns]])
            self._features = pd.concat([self._features, X])

    def assess(self, user_id: str, *, with_llm: bool = True) -> ValueAssessment:
        """The user's value assessment (raises ``UnknownUser`` for an id the engine has not scored)."""
        self._ensure_scored(user_id)
        assert self._population is not None
        row = self._population.loc[user_id]
        assert self._trained is not None and self._features is not None
        X = self._features.loc[[user_id]]
        if not self._trained.with_profile:
            X = drop_profile(X)
        # Path attribution, as in the batch: the reasons a user is shown equal the ones stored by `score --all`.
        contrib = self._trained.value_model.contributions(X, method="path").iloc[0].to_dict()
        reasons = top_reasons(contrib, X.iloc[0].to_dict(), N_REASONS)
        profile = self.profile(user_id, with_llm=with_llm)
        sensitivity = float(profile.price_sensitivity)
        segment = assign_segment(
            **{
                k: float(row[k])
                for k in (
                    "score",
                    "p_alive",
                    "days_since_last",
                    "tenure_days",
                    "n_purchase_days",
                    "churn_risk",
                    "events_last_90d",
                )
            },
            price_sensitivity=sensitivity,
        )
        language = self._user_language(user_id)
        score, spend = float(row["score"]), float(row["predicted_spend_12m"])
        explanation = None
        if with_llm:
            explanation = llm_explanation(self.settings, language, score, segment, spend, reasons, profile)
        return ValueAssessment(
            user_id=user_id,
            as_of=self._trained.as_of.date(),
            score=score,
            segment=segment,
            predicted_spend_12m=round(spend, 2),
            predicted_purchases_12m=round(float(row["predicted_purchases_12m"]), 3),
            p_alive=round(float(row["p_alive"]), 4),
            price_sensitivity=round(sensitivity, 3),
            churn_risk=round(float(row["churn_risk"]), 4),
            next_purchase_prob_30d=round(float(row["next_purchase_prob_30d"]), 4),
            likely_categories=list(row["likely_categories"]),
            reasons=reasons,
            explanation=explanation or template_explanation(language, score, segment, spend, reasons),
            profile=profile,
            model_version=self._trained.version,
        )

    # ---- everyone -------------------------------------------------------------------------------------------
    def assess_all(
        self,
        out: Path | str | None = None,
        progress: bool = True,
        *,
        with_reasons: bool = True,
        chunk_users: int | None = None,
        workers: int | None = None,
    ) -> BatchSummary:
        """Every user's assessment without the LLM (rule profile, templated reasons), streamed through the store
        in chunks (:mod:`valuation.batch`): upserted into ``value_assessments`` and written to ``out`` (.parquet
        or .csv) when given. Returns counts and timing, not the rows: at millions of users they stay on disk."""
        return stream_assessments(
            self.settings,
            self.scoring_job(with_reasons=with_reasons),
            out=out,
            progress=progress,
            chunk_users=chunk_users or CHUNK_USERS,
            workers=workers,
        )

    def scoring_job(self, *, with_reasons: bool = True) -> ScoringJob:
        """What any batch engine needs to score chunks of users (the single-machine workers, Spark executors):
        the trained engine, its BTYD fit, the reference ranking and the population's feature columns."""
        self.ensure_ready()
        assert self._trained is not None and self._btyd is not None and self._features is not None
        assert self._sorted_raw is not None
        return ScoringJob(self._trained, self._btyd, self._sorted_raw, self._features.columns, with_reasons)


@per_settings("database_url", "models_dir", "llm")
def get_value_service(settings: Settings) -> ValueService:
    """The process-wide service for these settings (one per data dir / database)."""
    return ValueService(settings)
