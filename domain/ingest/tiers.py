"""Price tiers for products that came without one: price quantiles within the product's category.

Within a category, a product whose price is at or below the category's 40th percentile is ``budget``, up to the
75th ``mid``, up to the 95th ``premium``, above that ``luxury`` (the demo shop's own tier shares are close to
these). Categories with fewer than ``MIN_CATEGORY_SIZE`` priced products borrow the quantiles of the whole
catalog, so a category of two never has one budget and one luxury item just because of their order.

Tiers are derived once, when a products file is ingested, for the rows stored without one; a tier given in the
file is kept. The quantiles come from every product in the store at that moment, given tiers included.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import update
from sqlalchemy.engine import Engine

from domain.models import PriceTier
from domain.store import schema

TIER_QUANTILES: tuple[tuple[float, PriceTier], ...] = (
    (0.40, PriceTier.budget),
    (0.75, PriceTier.mid),
    (0.95, PriceTier.premium),
)
MIN_CATEGORY_SIZE = 8


def tier_for(price: float, cuts: np.ndarray) -> PriceTier:
    for cut, (_, tier) in zip(cuts, TIER_QUANTILES, strict=True):
        if price <= cut:
            return tier
    return PriceTier.luxury


def _cuts(prices: list[float]) -> np.ndarray:
    return np.quantile(np.asarray(prices, dtype=float), [q for q, _ in TIER_QUANTILES])


def derive_missing_tiers(engine: Engine) -> int:
    """Fill ``price_tier`` of every stored product that has none; returns how many were filled."""
    p = schema.products
    with engine.connect() as conn:
        rows = conn.execute(
            p.select().with_only_columns(p.c.product_id, p.c.category, p.c.price, p.c.price_tier)
        )
        rows = rows.all()
    missing = [r for r in rows if not r.price_tier]
    if not missing:
        return 0
    by_category: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        by_category[r.category].append(float(r.price))
    overall = _cuts([float(r.price) for r in rows])
    cuts = {c: _cuts(v) if len(v) >= MIN_CATEGORY_SIZE else overall for c, v in by_category.items()}
    with engine.begin() as conn:
        for r in missing:
            tier = tier_for(float(r.price), cuts[r.category])
            conn.execute(update(p).where(p.c.product_id == r.product_id).values(price_tier=tier.value))
    return len(missing)
