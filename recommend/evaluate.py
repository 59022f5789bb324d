"""Offline evaluation of recommendations, with a temporal split, against baselines in one run.

Two protocols:
- ``truth``: the whole store is history; the demo's hidden ``truth.parquet`` holds each user's future purchases
  (the next order's items, and all items of the next 12 months). Value signals may come from the valuation
  service because nothing it saw is in the future.
- ``split``: the store's own history is cut at ``cutoff`` (default: ``horizon_days`` before the last order);
  targets are each user's next order after the cut-off. Everything the recommender reads (catalog statistics,
  user history) stops at the cut-off, and value signals come from history only, so nothing leaks.

Methods compared on the same users: popularity (top sellers before the cut-off), pure semantic retrieval (dense
search with the user's recent searches and last purchases as the query), the recommender without value signals
(ablation) and the full value-aware recommender.
Metrics: HitRate@k and nDCG@k (binary relevance: items of the next order), catalog coverage (share of in-stock
products recommended to anyone), price-tier fit (share of recommended items in the user's true future tier),
plus HitRate@k against all purchases of the next 12 months (truth protocol).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from domain.settings import Settings
from domain.store.db import get_engine
from recommend.config import RecommenderConfig
from recommend.metrics import PairedDiff, auc, ndcg_at_k, paired_diff
from recommend.recommender import Recommender, index_search, service_value_provider
from recommend.signals import build_signals
from recommend.snapshot import CatalogSnapshot, build_snapshot, purchase_lines
from valuation.service import get_value_service

log = logging.getLogger(__name__)

CONTRAST_REQUESTS: tuple[str, ...] = (
    "running shoes",
    "耳机",
    "coffee",
    "护肤品",
    "a gift for my mum",
    "手表",
)


class MethodMetrics(BaseModel):
    method: str
    users: int
    hit_rate: float
    ndcg: float
    coverage: float
    price_tier_fit: float
    hit_rate_12m: float | None = None
    mean_latency_ms: float = 0.0


class PriceContrast(BaseModel):
    """Median recommended price for high-value vs price-sensitive users, for the same requests."""

    premium_users: int
    price_sensitive_users: int
    per_request: dict[str, tuple[float, float]] = Field(description="request -> (premium, price-sensitive)")
    premium_median: float
    price_sensitive_median: float
    requests_premium_higher: int


class PredictionAuc(BaseModel):
    users: int
    next_purchase_30d_auc: float | None = None
    churn_auc: float | None = None
    source: str = ""
    note: str = ""


class RecsEvalReport(BaseModel):
    protocol: str
    cutoff: str
    k: int
    users_evaluated: int
    value_source: str
    methods: list[MethodMetrics]
    value_vs_ablation: PairedDiff | None = None
    contrast: PriceContrast | None = None
    prediction: PredictionAuc | None = None
    acceptance: dict[str, bool] = Field(default_factory=dict)
    seconds: float = 0.0


def _targets_from_truth(truth_path: Path, snap: CatalogSnapshot) -> pd.DataFrame:
    truth = pd.read_parquet(truth_path)
    out = pd.DataFrame(
        {
            "user_id": truth["user_id"],
            "next": truth["first_future_product_ids"].map(lambda v: {p for p in v if p in snap.pos}),
            "future": truth["future_product_ids"].map(lambda v: {p for p in v if p in snap.pos}),
            "purchase_30d": truth["future_purchase_30d"].astype(bool),
            "churned": truth["churned"].astype(bool),
        }
    )
    return out


def _targets_from_split(settings: Settings, cutoff: datetime, horizon_days: int) -> pd.DataFrame:
    lines = purchase_lines(get_engine(settings))
    after = lines[
        (lines["created_at"] > cutoff) & (lines["created_at"] <= cutoff + timedelta(days=horizon_days))
    ]
    before_users = set(lines.loc[lines["created_at"] <= cutoff, "user_id"])
    rows = []
    for uid, grp in after.groupby("user_id"):
        first_day = grp["created_at"].min()
        nxt = set(grp.loc[grp["created_at"] == first_day, "product_id"])
        rows.append((uid, nxt, set(grp["product_id"]), first_day <= cutoff + timedelta(days=30), False))
    seen = {r[0] for r in rows}
    rows += [(uid, set(), set(), False, True) for uid in before_users - seen]
    return pd.DataFrame(rows, columns=["user_id", "next", "future", "purchase_30d", "churned"])


def _true_tier(snap: CatalogSnapshot, items: set[str]) -> str | None:
    # sorted(): ties go to the same tier in every process (set order depends on string hashing).
    tiers = Counter(snap.products[p].price_tier.value for p in sorted(items) if p in snap.products)
    return tiers.most_common(1)[0][0] if tiers else None


def _semantic_query(sig_queries: list[str], bought_titles: list[str]) -> str:
    return " ".join([*sig_queries[:3], *bought_titles[:2]]).strip()


def evaluate_recs(
    settings: Settings,
    *,
    truth_path: Path | None = None,
    cutoff: datetime | None = None,
    horizon_days: int = 90,
    max_users: int = 600,
    k: int = 10,
    seed: int = 7,
    config: RecommenderConfig | None = None,
    contrast_users: int = 40,
    progress: bool = True,
    on_progress: Callable[[int, int], None] | None = None,
) -> RecsEvalReport:
    started = time.perf_counter()
    config = config or RecommenderConfig()

    engine = get_engine(settings)
    protocol = "truth" if truth_path is not None else "split"
    if protocol == "split" and cutoff is None:
        last = purchase_lines(engine)["created_at"].max()
        cutoff = (pd.Timestamp(last) - pd.Timedelta(days=horizon_days)).to_pydatetime()
    snap = build_snapshot(engine, config, cutoff)
    as_of = cutoff  # None in the truth protocol: the whole store is history
    if protocol == "truth":
        targets = _targets_from_truth(truth_path, snap)  # type: ignore[arg-type]
        value_provider = service_value_provider(settings, engine)
    else:
        targets = _targets_from_split(settings, cutoff, horizon_days)  # type: ignore[arg-type]
        value_provider = None  # the service saw the future of a split store: use history-only signals
    hybrid = index_search(settings, "hybrid")
    dense = index_search(settings, "dense")
    rec = Recommender(settings, config, search=hybrid, value_provider=value_provider, snapshot=snap)

    evaluable = targets[targets["next"].map(len) > 0].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    if len(evaluable) > max_users:
        evaluable = evaluable.iloc[np.sort(rng.choice(len(evaluable), max_users, replace=False))]
    in_stock = set(snap.in_stock_ids())
    popular = [
        pid for pid in np.array(snap.ids)[np.argsort(-snap.popularity, kind="stable")] if pid in in_stock
    ][:k]

    recs: dict[str, list[list[str]]] = {m: [] for m in ("popularity", "semantic", "ablation", "value_aware")}
    latency: dict[str, list[float]] = {m: [] for m in recs}
    value_sources: Counter[str] = Counter()
    rows = list(evaluable.itertuples(index=False))
    for n, row in enumerate(rows, 1):
        sig = build_signals(
            engine,
            snap,
            config,
            row.user_id,
            as_of=as_of,
            assessment=value_provider(row.user_id) if value_provider else None,
        )
        value_sources[sig.value_source] += 1
        recs["popularity"].append(popular)
        latency["popularity"].append(0.0)
        t0 = time.perf_counter()
        query = _semantic_query(sig.recent_queries, list(sig.purchased_titles.values())[::-1])
        sem: list[str] = []
        if dense is not None and query:
            sem = [p for p in dense(query, k, None, None, None) if p in in_stock][:k]
        recs["semantic"].append(sem)
        latency["semantic"].append(time.perf_counter() - t0)
        for method, use_value in (("ablation", False), ("value_aware", True)):
            t0 = time.perf_counter()
            out = rec.recommend(
                user_id=row.user_id,
                query=None,
                k=k,
                use_value_signals=use_value,
                as_of=as_of,
                signals=sig,
                check_stock=False,
            )
            latency[method].append(time.perf_counter() - t0)
            recs[method].append([r.product.product_id for r in out])
        if on_progress:
            on_progress(n, len(rows))

    methods = []
    per_user: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for method, lists in recs.items():
        hits, ndcgs, fits, hits12 = [], [], [], []
        for row, items in zip(rows, lists, strict=True):
            hits.append(bool(set(items[:k]) & row.next))
            ndcgs.append(ndcg_at_k(items, row.next, k))
            hits12.append(bool(set(items[:k]) & row.future))
            tier = _true_tier(snap, row.future or row.next)
            if items and tier:
                fits.append(np.mean([snap.products[p].price_tier.value == tier for p in items[:k]]))
        per_user[method] = (np.array(hits, dtype=float), np.array(ndcgs))
        covered = {p for items in lists for p in items[:k]}
        methods.append(
            MethodMetrics(
                method=method,
                users=len(rows),
                hit_rate=round(float(np.mean(hits)), 4) if hits else 0.0,
                ndcg=round(float(np.mean(ndcgs)), 4) if ndcgs else 0.0,
                coverage=round(len(covered) / max(len(in_stock), 1), 4),
                price_tier_fit=round(float(np.mean(fits)), 4) if fits else 0.0,
                hit_rate_12m=round(float(np.mean(hits12)), 4) if protocol == "truth" and hits12 else None,
                mean_latency_ms=round(float(np.mean(latency[method])) * 1000, 2),
            )
        )
    by = {m.method: m for m in methods}
    paired = paired_diff(per_user["value_aware"], per_user["ablation"], seed) if rows else None
    contrast = price_contrast(rec, snap, targets, value_provider, as_of, contrast_users, seed)
    prediction = (
        prediction_auc(settings, targets, max_users * 2, seed)
        if protocol == "truth"
        else PredictionAuc(
            users=0, note="split protocol: the valuation service was trained on the whole store"
        )
    )
    acceptance = {
        "hit_rate_at_least_1.5x_popularity": by["value_aware"].hit_rate >= 1.5 * by["popularity"].hit_rate,
        "hit_rate_above_ablation": by["value_aware"].hit_rate > by["ablation"].hit_rate,
        "premium_median_price_above_price_sensitive": bool(
            contrast and contrast.premium_median > contrast.price_sensitive_median
        ),
    }
    return RecsEvalReport(
        protocol=protocol,
        cutoff=(cutoff or snap.as_of).isoformat(),
        k=k,
        users_evaluated=len(rows),
        value_source=", ".join(f"{k_}:{v}" for k_, v in value_sources.most_common()),
        methods=methods,
        value_vs_ablation=paired,
        contrast=contrast,
        prediction=prediction,
        acceptance=acceptance,
        seconds=round(time.perf_counter() - started, 1),
    )


def price_contrast(
    rec: Recommender,
    snap: CatalogSnapshot,
    targets: pd.DataFrame,
    value_provider: Callable[[str], object] | None,
    as_of: datetime | None,
    n_users: int,
    seed: int,
    requests: tuple[str, ...] = CONTRAST_REQUESTS,
) -> PriceContrast | None:
    """Same requests for the most premium vs the most price-sensitive users (by the recommender's own signals)."""
    rng = np.random.default_rng(seed + 1)
    pool = targets["user_id"].to_numpy()
    sample = pool[rng.choice(len(pool), min(len(pool), n_users * 8), replace=False)] if len(pool) else pool
    sigs = []
    for uid in sample:
        assessment = value_provider(uid) if value_provider else None
        sig = build_signals(rec.engine, snap, rec.config, str(uid), as_of=as_of, assessment=assessment)  # type: ignore[arg-type]
        if sig.has_history:
            sigs.append(sig)
    if len(sigs) < 4:
        return None
    # "premium" = high value score and low price sensitivity; "price-sensitive" = the reverse.
    key = sorted(sigs, key=lambda s: s.premiumness - s.price_sensitivity)
    n = min(n_users, len(key) // 2)
    bargain, premium = key[:n], key[-n:]
    per_request: dict[str, tuple[float, float]] = {}
    all_p, all_b = [], []
    for q in requests:
        meds = []
        for group, bucket in ((premium, all_p), (bargain, all_b)):
            prices = []
            for sig in group:
                out = rec.recommend(
                    user_id=sig.user_id, query=q, k=6, as_of=as_of, signals=sig, check_stock=False
                )
                prices += [r.product.price for r in out]
            bucket += prices
            meds.append(float(np.median(prices)) if prices else 0.0)
        per_request[q] = (round(meds[0], 2), round(meds[1], 2))
    return PriceContrast(
        premium_users=len(premium),
        price_sensitive_users=len(bargain),
        per_request=per_request,
        premium_median=round(float(np.median(all_p)), 2) if all_p else 0.0,
        price_sensitive_median=round(float(np.median(all_b)), 2) if all_b else 0.0,
        requests_premium_higher=sum(p > b for p, b in per_request.values()),
    )


def prediction_auc(settings: Settings, targets: pd.DataFrame, max_users: int, seed: int) -> PredictionAuc:
    """AUC of valuation's next-purchase-30d and churn-risk predictions against the hidden truth.

    Uses the service's precomputed population table (every user, the same numbers ``assess`` returns) when it
    has one, else ``assess(with_llm=False)`` on a seeded sample of ``max_users``.
    """
    try:
        service = get_value_service(settings)
        population = getattr(service, "population", None)
    except Exception as exc:
        return PredictionAuc(users=0, note=f"valuation service unavailable: {exc}")
    cols = {"next_purchase_prob_30d", "churn_risk"}
    if isinstance(population, pd.DataFrame) and cols <= set(population.columns):
        joined = targets.join(population[list(cols)], on="user_id", how="inner")
        source = "valuation.service population table (all users)"
    else:
        rng = np.random.default_rng(seed + 2)
        sample = targets.iloc[np.sort(rng.choice(len(targets), min(len(targets), max_users), replace=False))]
        preds = []
        for uid in sample["user_id"]:
            try:
                a = service.assess(uid, with_llm=False)
                preds.append((uid, a.next_purchase_prob_30d, a.churn_risk))
            except Exception as exc:
                log.info("no assessment for %s: %s", uid, exc)
        frame = pd.DataFrame(preds, columns=["user_id", "next_purchase_prob_30d", "churn_risk"])
        joined = sample.merge(frame, on="user_id")
        source = "valuation.service assess(with_llm=False), sample"
    next_auc = auc(joined["purchase_30d"], joined["next_purchase_prob_30d"])
    churn_auc = auc(joined["churned"], joined["churn_risk"])
    return PredictionAuc(
        users=len(joined),
        next_purchase_30d_auc=None if next_auc is None else round(next_auc, 4),
        churn_auc=None if churn_auc is None else round(churn_auc, 4),
        source=source,
    )
