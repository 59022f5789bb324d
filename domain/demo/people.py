"""Demo users: hidden behavioural traits per archetype, plus realistic fake PII in Chinese or English."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from domain.demo.vocab import (
    CATEGORIES,
    CITIES,
    EMAIL_DOMAINS_EN,
    EMAIL_DOMAINS_ZH,
    EN_FIRST,
    EN_LAST,
    EN_STREETS,
    ZH_GIVEN,
    ZH_SURNAMES,
)

ARCHETYPES: tuple[str, ...] = (
    "loyal_big_spender",
    "regular",
    "bargain_hunter",
    "new",
    "lapsed",
    "window_shopper",
)
ARCHETYPE_WEIGHTS = np.array([0.10, 0.27, 0.20, 0.13, 0.15, 0.15])


@dataclass(frozen=True)
class ArchetypeSpec:
    orders_per_month: float  # median purchase rate while alive
    tier_probs: tuple[float, float, float, float]  # budget, mid, premium, luxury
    price_sensitivity: tuple[float, float]  # uniform range
    churn_hazard: float  # monthly probability of dropping out
    sessions_per_month: float  # browsing sessions without a purchase
    review_rate: tuple[float, float]


SPECS: dict[str, ArchetypeSpec] = {
    "loyal_big_spender": ArchetypeSpec(1.5, (0.08, 0.3, 0.42, 0.2), (0.0, 0.25), 0.004, 0.6, (0.2, 0.5)),
    "regular": ArchetypeSpec(0.6, (0.25, 0.45, 0.23, 0.07), (0.3, 0.6), 0.02, 0.4, (0.1, 0.35)),
    "bargain_hunter": ArchetypeSpec(0.9, (0.68, 0.28, 0.04, 0.0), (0.75, 1.0), 0.025, 0.6, (0.1, 0.3)),
    "new": ArchetypeSpec(0.7, (0.3, 0.4, 0.22, 0.08), (0.2, 0.7), 0.03, 0.8, (0.1, 0.35)),
    "lapsed": ArchetypeSpec(0.7, (0.3, 0.4, 0.22, 0.08), (0.3, 0.8), 0.0, 0.4, (0.05, 0.25)),
    "window_shopper": ArchetypeSpec(0.05, (0.3, 0.4, 0.22, 0.08), (0.4, 0.9), 0.02, 1.5, (0.0, 0.1)),
}

DAYS_PER_MONTH = 30.4375


@dataclass
class DemoUser:
    user_id: str
    archetype: str
    language: str
    signup_day: float  # days since the history start (negative: signed up before it)
    dropout_day: float  # days since the history start when the user silently stops (inf: never)
    purchase_rate: float  # orders per month while alive
    tier_probs: np.ndarray
    price_sensitivity: float
    churn_hazard: float
    sessions_per_month: float
    review_rate: float
    satisfaction: float
    favourite_categories: list[int]
    category_weights: np.ndarray
    favourite_brands: list[str]
    pii: dict[str, str] = field(default_factory=dict)
    city: str = ""

    @property
    def spend_level(self) -> float:
        """Expected price tier in [0, 1] (0 budget, 1 luxury)."""
        return float(self.tier_probs @ np.arange(4) / 3)


def _zh_pii(rng: np.random.Generator, index: int) -> tuple[dict[str, str], str]:
    surname, surname_py = ZH_SURNAMES[int(rng.integers(len(ZH_SURNAMES)))]
    given, given_py = ZH_GIVEN[int(rng.integers(len(ZH_GIVEN)))]
    city_en, city_zh, districts, streets = CITIES[int(rng.integers(len(CITIES)))]
    prefix = ("138", "139", "137", "136", "135", "150", "151", "158", "159", "186", "188", "177", "133")
    phone = prefix[int(rng.integers(len(prefix)))] + f"{int(rng.integers(0, 10**8)):08d}"
    email = f"{given_py}.{surname_py}{int(rng.integers(1, 999))}@{EMAIL_DOMAINS_ZH[int(rng.integers(len(EMAIL_DOMAINS_ZH)))]}"
    address = (
        f"{city_zh}市{districts[int(rng.integers(len(districts)))]}{streets[int(rng.integers(len(streets)))]}"
        f"{int(rng.integers(1, 2000))}号{int(rng.integers(1, 30))}栋{int(rng.integers(1, 33))}0{int(rng.integers(1, 9))}室"
    )
    return {"name": surname + given, "phone": phone, "email": email, "address": address}, city_en


def _en_pii(rng: np.random.Generator, index: int) -> tuple[dict[str, str], str]:
    first = EN_FIRST[int(rng.integers(len(EN_FIRST)))]
    last = EN_LAST[int(rng.integers(len(EN_LAST)))]
    city_en, _city_zh, _d, _s = CITIES[int(rng.integers(len(CITIES)))]
    if rng.random() < 0.6:  # expats in China with a local mobile
        phone = "+86 " + ("139", "186", "158")[int(rng.integers(3))] + f"{int(rng.integers(0, 10**8)):08d}"
    else:
        phone = f"+44 7{int(rng.integers(100, 999))} {int(rng.integers(100000, 999999))}"
    email = f"{first.lower()}.{last.lower()}{int(rng.integers(1, 99))}@{EMAIL_DOMAINS_EN[int(rng.integers(len(EMAIL_DOMAINS_EN)))]}"
    address = f"{int(rng.integers(1, 400))} {EN_STREETS[int(rng.integers(len(EN_STREETS)))]}, Apt {int(rng.integers(1, 40))}, {city_en}"
    return {"name": f"{first} {last}", "phone": phone, "email": email, "address": address}, city_en


def generate_users(
    rng: np.random.Generator, n_users: int, history_days: float, brands_by_category: list[list[str]]
) -> list[DemoUser]:
    users: list[DemoUser] = []
    n_categories = len(CATEGORIES)
    for index in range(n_users):
        archetype = ARCHETYPES[int(rng.choice(len(ARCHETYPES), p=ARCHETYPE_WEIGHTS))]
        spec = SPECS[archetype]
        language = "zh" if rng.random() < 0.6 else "en"
        if archetype == "new":
            signup = history_days - rng.uniform(5, 120)
        elif archetype == "lapsed":
            signup = rng.uniform(-60, 180)
        else:
            signup = rng.uniform(-180, history_days - 150)
        if archetype == "lapsed":
            # Stop between 2 months after signing up and 3 months before the history ends.
            dropout = rng.uniform(max(signup, 0) + 60, history_days - 90)
        else:
            months = rng.exponential(1 / spec.churn_hazard) if spec.churn_hazard > 0 else np.inf
            dropout = max(signup, 0) + 30 + months * DAYS_PER_MONTH
        n_fav = int(rng.integers(2, 5))
        favourites = [int(c) for c in rng.choice(n_categories, size=n_fav, replace=False)]
        weights = rng.dirichlet(np.full(n_fav, 1.5))
        fav_brands: list[str] = []
        for cat in favourites[:3]:
            brands = brands_by_category[cat]
            fav_brands.append(brands[int(rng.integers(len(brands)))])
        tier_probs = rng.dirichlet(np.array(spec.tier_probs) * 20 + 0.05)
        pii, city = _zh_pii(rng, index) if language == "zh" else _en_pii(rng, index)
        users.append(
            DemoUser(
                user_id=f"u{index + 1:06d}",
                archetype=archetype,
                language=language,
                signup_day=float(signup),
                dropout_day=float(dropout),
                purchase_rate=float(spec.orders_per_month * rng.lognormal(0, 0.35)),
                tier_probs=tier_probs,
                price_sensitivity=float(rng.uniform(*spec.price_sensitivity)),
                churn_hazard=spec.churn_hazard,
                sessions_per_month=float(spec.sessions_per_month * rng.lognormal(0, 0.3)),
                review_rate=float(rng.uniform(*spec.review_rate)),
                satisfaction=float(rng.beta(5, 2)),
                favourite_categories=favourites,
                category_weights=weights,
                favourite_brands=fav_brands,
                pii=pii,
                city=city,
            )
        )
    return users
