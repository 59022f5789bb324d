"""Behaviour simulation: orders, reviews, searches and browsing sessions generated from each user's hidden traits.

The same function simulates the visible history and the hidden next 12 months, so the truth file measures what a
value model should have predicted from the history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from domain.demo.people import DAYS_PER_MONTH, DemoUser
from domain.demo.products import DemoProduct
from domain.demo.vocab import (
    CATEGORIES,
    REVIEW_NEGATIVE_EN,
    REVIEW_NEGATIVE_ZH,
    REVIEW_NEUTRAL_EN,
    REVIEW_NEUTRAL_ZH,
    REVIEW_POSITIVE_EN,
    REVIEW_POSITIVE_ZH,
    TIERS,
)

LINE_COUNT_PROBS = np.array([0.6, 0.25, 0.1, 0.05])


class ProductIndex:
    """Products grouped by (category, tier) for fast draws."""

    def __init__(self, products: list[DemoProduct]) -> None:
        self.products = products
        self.by_cat_tier: dict[tuple[int, int], list[int]] = {}
        self.by_cat: dict[int, list[int]] = {}
        slug_index = {c.slug: i for i, c in enumerate(CATEGORIES)}
        for i, product in enumerate(products):
            cat = slug_index[product.category.slug]
            tier = TIERS.index(str(product.row["price_tier"]))
            self.by_cat_tier.setdefault((cat, tier), []).append(i)
            self.by_cat.setdefault(cat, []).append(i)
        self.promo = np.array([bool(p.row["on_promotion"]) for p in products])
        self.brand = [str(p.row["brand"]) for p in products]

    def draw(self, rng: np.random.Generator, user: DemoUser) -> int:
        if rng.random() < 0.85:
            cat = user.favourite_categories[
                int(rng.choice(len(user.favourite_categories), p=user.category_weights))
            ]
        else:
            cat = int(rng.integers(len(CATEGORIES)))
        tier = int(rng.choice(4, p=user.tier_probs))
        candidates = self.by_cat_tier.get((cat, tier)) or self.by_cat.get(cat) or [0]
        weights = np.ones(len(candidates))
        weights += 3 * user.price_sensitivity * self.promo[candidates]  # bargain hunters chase promotions
        weights += 2.0 * np.array([self.brand[c] in user.favourite_brands for c in candidates])
        return candidates[int(rng.choice(len(candidates), p=weights / weights.sum()))]


@dataclass
class SimulationOutput:
    orders: list[dict[str, object]] = field(default_factory=list)
    lines: list[dict[str, object]] = field(default_factory=list)
    reviews: list[dict[str, object]] = field(default_factory=list)
    events: list[dict[str, object]] = field(default_factory=list)


@dataclass
class Counters:
    order: int = 0
    review: int = 0
    event: int = 0
    session: int = 0


def _ts(origin: datetime, day: float) -> str:
    return (origin + timedelta(days=float(day))).replace(microsecond=0).isoformat()


def _query(rng: np.random.Generator, user: DemoUser, product: DemoProduct) -> str:
    attr_en, attr_zh = product.attrs[int(rng.integers(len(product.attrs)))]
    noun_en, noun_zh = product.noun
    price = int(float(product.row["list_price"]) * 1.2 // 100 * 100 + 100)  # type: ignore[arg-type]
    brand_en = str(product.row["brand"])
    brand_zh = product.row["title_zh"].split(" ")[0]  # type: ignore[union-attr]
    use_en, use_zh = product.category.uses[int(rng.integers(len(product.category.uses)))]
    cheap = user.price_sensitivity > 0.7 and rng.random() < 0.5
    if user.language == "zh":
        options = [
            f"{attr_zh}{noun_zh}",
            f"{brand_zh}{noun_zh}",
            f"适合{use_zh}的{noun_zh}",
            f"{product.row['sku']}",
        ]
        if cheap:
            options += [f"{price}元以内{noun_zh}", f"{noun_zh}优惠", f"便宜的{noun_zh}"]
    else:
        options = [
            f"{attr_en} {noun_en}",
            f"{brand_en} {noun_en}",
            f"best {noun_en} for {use_en}",
            f"{brand_en} {product.row['sku']}",
        ]
        if cheap:
            options += [f"{noun_en} under {price}", f"cheap {noun_en}", f"{noun_en} on sale"]
    return options[int(rng.integers(len(options)))]


def _review_text(rng: np.random.Generator, rating: int, language: str, product: DemoProduct) -> str:
    if rating >= 4:
        pool = REVIEW_POSITIVE_ZH if language == "zh" else REVIEW_POSITIVE_EN
    elif rating == 3:
        pool = REVIEW_NEUTRAL_ZH if language == "zh" else REVIEW_NEUTRAL_EN
    else:
        pool = REVIEW_NEGATIVE_ZH if language == "zh" else REVIEW_NEGATIVE_EN
    attr = product.attrs[int(rng.integers(len(product.attrs)))]
    lang = 1 if language == "zh" else 0
    return pool[int(rng.integers(len(pool)))].format(noun=product.noun[lang], attr=attr[lang])


def simulate_user(
    rng: np.random.Generator,
    user: DemoUser,
    index: ProductIndex,
    origin: datetime,
    start_day: float,
    end_day: float,
    counters: Counters,
    out: SimulationOutput,
    *,
    with_activity: bool,
) -> None:
    """Simulate one user between start_day and end_day (days since origin) into ``out``.

    ``with_activity`` adds reviews and browsing/search events; the hidden future only needs orders.
    """
    alive_from = max(start_day, user.signup_day)
    alive_to = min(end_day, user.dropout_day)
    if alive_to <= alive_from:
        return
    months = (alive_to - alive_from) / DAYS_PER_MONTH
    n_orders = int(rng.poisson(user.purchase_rate * months))
    order_days = np.sort(rng.uniform(alive_from, alive_to, size=n_orders))
    products = index.products
    for day in order_days:
        counters.order += 1
        order_id = f"o{counters.order:07d}"
        n_lines = int(rng.choice(4, p=LINE_COUNT_PROBS)) + 1
        if end_day - day < 3:
            status = "paid" if rng.random() < 0.5 else "shipped"
        else:
            roll = rng.random()
            p_return = 0.02 + 0.1 * (1 - user.satisfaction)
            status = "cancelled" if roll < 0.03 else "returned" if roll < 0.03 + p_return else "delivered"
        out.orders.append(
            {"order_id": order_id, "user_id": user.user_id, "created_at": _ts(origin, day), "status": status}
        )
        chosen: list[int] = []
        for _ in range(n_lines):
            p_idx = index.draw(rng, user)
            if p_idx in chosen:
                continue
            chosen.append(p_idx)
            line_no = len(chosen)
            product = products[p_idx]
            unit_price = float(product.row["list_price"])  # type: ignore[arg-type]
            quantity = 1 if rng.random() < 0.8 else int(rng.integers(2, 4))
            discount_rate = float(product.row["discount_pct"]) if product.row["on_promotion"] else 0.0  # type: ignore[arg-type]
            if rng.random() < 0.4 * user.price_sensitivity:  # coupons that price-sensitive users hunt for
                discount_rate = max(discount_rate, float(rng.choice([0.05, 0.1, 0.15])))
            discount = round(quantity * unit_price * discount_rate, 2)
            out.lines.append(
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": product.product_id,
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "discount": discount,
                }
            )
            if with_activity and status in ("delivered", "returned"):
                review_day = day + rng.uniform(3, 20)
                wants_review = rng.random() < (user.review_rate * (2.0 if status == "returned" else 1.0))
                if wants_review and review_day < end_day:
                    mood = 2.5 * (user.satisfaction - 0.6) - (2.0 if status == "returned" else 0.0)
                    rating = int(
                        np.clip(round(float(product.row["rating"]) + mood + rng.normal(0, 0.7)), 1, 5)
                    )  # type: ignore[arg-type]
                    counters.review += 1
                    out.reviews.append(
                        {
                            "review_id": f"r{counters.review:07d}",
                            "user_id": user.user_id,
                            "product_id": product.product_id,
                            "order_id": order_id,
                            "rating": rating,
                            "text": _review_text(rng, rating, user.language, product),
                            "language": user.language,
                            "created_at": _ts(origin, review_day),
                        }
                    )
        if with_activity:
            _purchase_session(rng, user, index, origin, day, chosen, counters, out)
    if with_activity:
        n_sessions = int(rng.poisson(user.sessions_per_month * months))
        for day in np.sort(rng.uniform(alive_from, alive_to, size=n_sessions)):
            _browse_session(rng, user, index, origin, float(day), counters, out)


def _event(
    out: SimulationOutput,
    counters: Counters,
    user: DemoUser,
    kind: str,
    ts: str,
    session: str,
    product_id: str | None = None,
    query: str | None = None,
) -> None:
    counters.event += 1
    out.events.append(
        {
            "event_id": f"e{counters.event:08d}",
            "user_id": user.user_id,
            "kind": kind,
            "ts": ts,
            "session_id": session,
            "product_id": product_id,
            "query": query,
        }
    )


def _browse_session(
    rng: np.random.Generator,
    user: DemoUser,
    index: ProductIndex,
    origin: datetime,
    day: float,
    counters: Counters,
    out: SimulationOutput,
) -> None:
    counters.session += 1
    session = f"s{counters.session:07d}"
    minute = 0.0
    first = index.products[index.draw(rng, user)]
    if rng.random() < 0.55:
        _event(out, counters, user, "search", _ts(origin, day), session, query=_query(rng, user, first))
    for _ in range(int(rng.integers(1, 6))):
        minute += float(rng.uniform(0.3, 4))
        product = index.products[index.draw(rng, user)]
        ts = _ts(origin, day + minute / 1440)
        _event(out, counters, user, "view", ts, session, product.product_id)
        if rng.random() < 0.45:
            _event(out, counters, user, "click", ts, session, product.product_id)
            if rng.random() < 0.25:
                _event(out, counters, user, "add_to_cart", ts, session, product.product_id)


def _purchase_session(
    rng: np.random.Generator,
    user: DemoUser,
    index: ProductIndex,
    origin: datetime,
    day: float,
    chosen: list[int],
    counters: Counters,
    out: SimulationOutput,
) -> None:
    counters.session += 1
    session = f"s{counters.session:07d}"
    start = day - float(rng.uniform(5, 40)) / 1440  # the session starts a few minutes before the order
    if rng.random() < 0.6:
        _event(
            out,
            counters,
            user,
            "search",
            _ts(origin, start),
            session,
            query=_query(rng, user, index.products[chosen[0]]),
        )
    for i, p_idx in enumerate(chosen):
        pid = index.products[p_idx].product_id
        ts = _ts(origin, start + (i + 1) / 1440)
        _event(out, counters, user, "view", ts, session, pid)
        _event(out, counters, user, "click", ts, session, pid)
        _event(out, counters, user, "add_to_cart", ts, session, pid)
    for p_idx in chosen:
        _event(out, counters, user, "purchase", _ts(origin, day), session, index.products[p_idx].product_id)


def line_amounts(lines: list[dict[str, object]]) -> dict[str, float]:
    """Order id -> money paid (quantity x unit price - discount)."""
    totals: dict[str, float] = {}
    for line in lines:
        amount = float(line["quantity"]) * float(line["unit_price"]) - float(line["discount"])  # type: ignore[arg-type]
        totals[str(line["order_id"])] = totals.get(str(line["order_id"]), 0.0) + amount
    return totals
