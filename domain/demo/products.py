"""Demo catalog: products spread over the vocabulary's categories, priced per tier, titled in both languages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domain.demo.vocab import CATEGORIES, TIERS, Category

TIER_WEIGHTS = np.array([0.34, 0.33, 0.21, 0.12])
DISCOUNTS = np.array([0.1, 0.15, 0.2, 0.25, 0.3, 0.4])
SKU_LETTERS = "ABCDEFGHJKLMNPRSTVXZ"


@dataclass
class DemoProduct:
    """A product plus what the simulation needs (attribute and noun words, its category object)."""

    row: dict[str, object]
    category: Category
    noun: tuple[str, str]
    attrs: list[tuple[str, str]]

    @property
    def product_id(self) -> str:
        return str(self.row["product_id"])


def tier_bounds(category: Category, tier_index: int) -> tuple[float, float]:
    """Split the category's price span geometrically into four tiers."""
    lo, hi = category.price_range
    edges = np.geomspace(lo, hi, len(TIERS) + 1)
    return float(edges[tier_index]), float(edges[tier_index + 1])


def _nice_price(value: float) -> float:
    """Shop-style prices: 39, 199, 1299, 8999 rather than 201.37."""
    if value < 100:
        return float(max(9, int(value) // 10 * 10 + 9))
    if value < 1000:
        return float(int(value) // 10 * 10 + 9)
    return float(int(value) // 100 * 100 + 99)


def _sku(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        letters = "".join(rng.choice(list(SKU_LETTERS), size=2))
        number = int(rng.integers(1, 100)) * 10
        sku = f"{letters}-{number}"
        if sku not in used:
            used.add(sku)
            return sku


def generate_products(rng: np.random.Generator, n_products: int) -> list[DemoProduct]:
    products: list[DemoProduct] = []
    used_skus: set[str] = set()
    for index in range(n_products):
        category = CATEGORIES[index % len(CATEGORIES)]
        tier_index = int(rng.choice(len(TIERS), p=TIER_WEIGHTS))
        tier = TIERS[tier_index]
        brands = [b for b in category.brands if tier in b.tiers]
        while not brands:  # no brand sells in this tier here: step toward the middle tiers
            tier_index = tier_index - 1 if tier_index > 1 else tier_index + 1
            tier = TIERS[tier_index]
            brands = [b for b in category.brands if tier in b.tiers]
        brand = brands[int(rng.integers(len(brands)))]
        lo, hi = tier_bounds(category, tier_index)
        list_price = _nice_price(float(np.exp(rng.uniform(np.log(lo), np.log(hi)))))
        noun = category.nouns[int(rng.integers(len(category.nouns)))]
        attr_idx = rng.choice(len(category.attributes), size=3, replace=False)
        attrs = [category.attributes[int(i)] for i in attr_idx]
        use = category.uses[int(rng.integers(len(category.uses)))]
        sku = _sku(rng, used_skus)
        # Budget items run promotions more often than luxury ones.
        on_promotion = bool(rng.random() < (0.45, 0.3, 0.2, 0.08)[tier_index])
        discount = float(rng.choice(DISCOUNTS)) if on_promotion else 0.0
        price = round(list_price * (1 - discount), 2)
        rating = float(np.clip(rng.normal(4.3 + 0.1 * tier_index, 0.35), 2.5, 5.0))
        rating_count = int(rng.lognormal(5.0 - 0.6 * tier_index, 1.0))
        stock = 0 if rng.random() < 0.05 else int(rng.integers(3, 500))
        title_en = f"{brand.en} {sku} {attrs[0][0]} {attrs[1][0]} {noun[0]}"
        title_zh = f"{brand.zh} {sku} {attrs[0][1]}{attrs[1][1]}{noun[1]}"
        description_en = (
            f"{brand.en} {noun[0]} ({sku}): {attrs[0][0]}, {attrs[1][0]} and {attrs[2][0]}. "
            f"Designed for {use[0]}. {tier.capitalize()} range {category.en.lower()} from {brand.en}."
        )
        description_zh = (
            f"{brand.zh}{noun[1]}（{sku}）：{attrs[0][1]}、{attrs[1][1]}、{attrs[2][1]}。"
            f"适合{use[1]}。{brand.zh}{category.zh}系列。"
        )
        row: dict[str, object] = {
            "product_id": f"p{index + 1:05d}",
            "sku": sku,
            "title_en": title_en,
            "title_zh": title_zh,
            "description_en": description_en,
            "description_zh": description_zh,
            "brand": brand.en,
            "category": category.slug,
            "category_zh": category.zh,
            "price": price,
            "list_price": list_price,
            "price_tier": tier,
            "on_promotion": on_promotion,
            "discount_pct": discount,
            "rating": round(rating, 1),
            "rating_count": rating_count,
            "stock": stock,
        }
        products.append(DemoProduct(row=row, category=category, noun=noun, attrs=attrs))
    return products
