"""Stage 2: score candidates (relevance + personal + value signals) and pick a diverse top-k."""

from __future__ import annotations

import math
from dataclasses import dataclass

from recommend.candidates import Candidate
from recommend.config import RecommenderConfig
from recommend.models import UserSignals
from recommend.snapshot import CatalogSnapshot


@dataclass
class Scored:
    candidate: Candidate
    score: float
    parts: dict[str, float]  # weighted contribution of each signal (drives the reasons)


def target_tier(sig: UserSignals, config: RecommenderConfig) -> float:
    """The price tier rank the user is most likely to buy in: their history, moved by value and sensitivity."""
    base = sig.history_tier_rank if sig.history_tier_rank is not None else 1.0 + 1.0 * sig.premiumness
    shift = config.value_tier_shift * ((sig.premiumness - 0.5) * 2 - (sig.price_sensitivity - 0.5) * 2) / 2
    return min(3.0, max(0.0, base + shift))


def score_candidates(
    pool: dict[str, Candidate],
    snap: CatalogSnapshot,
    sig: UserSignals,
    config: RecommenderConfig,
    *,
    use_value_signals: bool,
    request: bool = False,
) -> list[Scored]:
    target = target_tier(sig, config)
    out: list[Scored] = []
    for cand in pool.values():
        i = snap.pos[cand.product_id]
        product = snap.products[cand.product_id]
        s = cand.signals
        parts = {
            "relevance": config.w_relevance * s.get("relevance", 0.0),
            "co_purchase": config.w_co_purchase * s.get("co_purchase", 0.0),
            "category_affinity": config.w_category_affinity
            * max(s.get("category_affinity", 0.0), sig.category_affinity.get(product.category, 0.0)),
            "brand_affinity": config.w_brand_affinity * sig.brand_affinity.get(product.brand, 0.0),
            "recently_viewed": config.w_recently_viewed * s.get("recently_viewed", 0.0),
            "popularity": config.w_popularity * float(snap.popularity[i]),
            "trending": config.w_trending * float(snap.trending[i]),
        }
        if cand.product_id in sig.purchased:
            parts["already_bought"] = -config.w_repurchase_penalty
        if use_value_signals:
            fit = math.exp(-((snap.tier_rank[i] - target) ** 2) / (2 * config.tier_sigma**2))
            parts["tier_fit"] = config.w_tier_fit * fit
            if product.on_promotion:
                promo = 0.5 + product.discount_pct
                parts["promotion"] = config.w_promotion * sig.price_sensitivity * promo
            parts["quality"] = config.w_quality * sig.premiumness * float(snap.quality[i])
        if request:
            # With a request, personal and value signals re-rank what was asked for, gated by relevance, so a
            # weakly matching item from a favourite category cannot outrank a strong match. The gate saturates:
            # among the strong hits, retrieval noise should not decide between a premium and a budget item.
            gate = min(1.0, s.get("relevance", 0.0) / config.request_gate_saturation)
            parts = {name: v if name == "relevance" else v * gate for name, v in parts.items()}
        out.append(Scored(cand, sum(parts.values()), parts))
    out.sort(key=lambda x: (-x.score, x.candidate.product_id))
    return out


def diversify(
    scored: list[Scored],
    snap: CatalogSnapshot,
    config: RecommenderConfig,
    k: int,
    *,
    category_filtered: bool,
) -> list[Scored]:
    """Greedy pick: per-brand/category penalties (MMR-like) and hard caps, so no k near-identical items."""
    remaining = sorted(scored, key=lambda x: (-x.score, x.candidate.product_id))
    picked: list[Scored] = []
    brands: dict[str, int] = {}
    cats: dict[str, int] = {}
    skus: set[str] = set()
    while remaining and len(picked) < k:
        best_j, best_val = -1, -math.inf
        for j, item in enumerate(remaining):
            if item.score <= best_val:  # sorted by score and penalties only subtract: nothing later can win
                break
            p = snap.products[item.candidate.product_id]
            nb, nc = brands.get(p.brand, 0), cats.get(p.category, 0)
            if nb >= config.max_per_brand or (p.sku and p.sku in skus):
                continue
            if not category_filtered and nc >= config.max_per_category:
                continue
            val = item.score - config.same_brand_penalty * nb
            if not category_filtered:
                val -= config.same_category_penalty * nc
            if val > best_val:
                best_j, best_val = j, val
        if best_j < 0:
            break
        item = remaining.pop(best_j)
        p = snap.products[item.candidate.product_id]
        brands[p.brand] = brands.get(p.brand, 0) + 1
        cats[p.category] = cats.get(p.category, 0) + 1
        if p.sku:
            skus.add(p.sku)
        picked.append(item)
    if len(picked) < k:  # caps left slots empty: fill with the best rest rather than return too few
        chosen = {x.candidate.product_id for x in picked}
        picked += [x for x in scored if x.candidate.product_id not in chosen][: k - len(picked)]
    return picked
