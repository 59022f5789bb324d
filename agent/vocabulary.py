"""The shop's vocabulary, read once from the store: category slugs with their zh/en words, brands, product ids
and titles. Slot extraction maps free text onto it; the grounding guardrail uses the ids and titles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlalchemy import select

from domain.cache import per_settings
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import products

# Extra words per likely slug (only slugs that exist in the catalog are used). Longest phrase wins.
CATEGORY_SYNONYMS: dict[str, tuple[str, ...]] = {
    "running-shoes": (
        "running shoes",
        "running shoe",
        "runners",
        "sneakers",
        "trainers",
        "跑鞋",
        "跑步鞋",
        "运动鞋",
    ),
    "phone-accessories": (
        "phone case",
        "charger",
        "power bank",
        "cable",
        "phone accessories",
        "手机壳",
        "充电器",
        "充电宝",
        "数据线",
    ),
    "skincare": (
        "skin care",
        "moisturizer",
        "moisturiser",
        "serum",
        "face cream",
        "sunscreen",
        "护肤品",
        "面霜",
        "精华",
        "防晒",
    ),
    "coffee": ("coffee beans", "espresso", "latte", "咖啡豆"),
    "headphones": ("headphone", "earphones", "earphone", "earbuds", "headset", "蓝牙耳机", "降噪耳机"),
    "laptops": ("laptop", "notebook computer", "ultrabook", "笔记本", "电脑"),
    "kitchen": (
        "kitchen appliance",
        "kitchen appliances",
        "air fryer",
        "blender",
        "rice cooker",
        "厨房",
        "空气炸锅",
        "电饭煲",
        "料理机",
    ),
    "toys": ("toy", "lego", "building blocks", "积木"),
    "books": ("book", "novel", "书", "书籍", "小说"),
    "watches": ("watch", "smartwatch", "腕表", "智能手表"),
    "smartphones": ("smartphone", "mobile phone", "phone", "cellphone", "智能手机"),
    "tea": ("tea", "green tea", "oolong", "茶", "绿茶"),
    "cameras": ("camera", "mirrorless", "摄像机", "单反"),
    "handbags": (
        "bag",
        "bags",
        "handbag",
        "backpack",
        "luggage",
        "suitcase",
        "包",
        "背包",
        "手提包",
        "行李箱",
    ),
    "makeup": ("lipstick", "cosmetics", "foundation", "化妆品", "口红", "粉底"),
    "cleaning-appliances": (
        "vacuum",
        "vacuum cleaner",
        "robot vacuum",
        "mop",
        "吸尘器",
        "扫地机",
        "扫地机器人",
        "拖地机",
    ),
    "outdoor": ("outdoor gear", "camping", "tent", "hiking", "户外", "露营", "帐篷", "登山"),
    "baby": ("baby", "diapers", "stroller", "婴儿", "尿不湿", "婴儿车"),
    "snacks": ("snack", "chips", "nuts", "坚果"),
    "wine-spirits": (
        "wine",
        "whisky",
        "whiskey",
        "spirits",
        "baijiu",
        "红酒",
        "葡萄酒",
        "白酒",
        "威士忌",
        "酒",
    ),
    "fitness": (
        "fitness equipment",
        "yoga mat",
        "dumbbell",
        "dumbbells",
        "treadmill",
        "健身",
        "瑜伽垫",
        "哑铃",
        "跑步机",
    ),
    "furniture": ("chair", "desk", "sofa", "table", "bed", "椅子", "桌子", "沙发", "书桌"),
    "gaming": ("gaming", "game controller", "gaming mouse", "keyboard", "游戏", "手柄", "游戏鼠标", "键盘"),
    "pet-supplies": ("pet", "dog food", "cat food", "cat litter", "宠物", "狗粮", "猫粮", "猫砂"),
    "fragrance": ("perfume", "cologne", "香氛"),
}


@dataclass
class Catalog:
    """Vocabulary of one store. ``phrases`` maps a lower-cased word/phrase to a category slug."""

    categories: dict[str, tuple[str, str]] = field(default_factory=dict)  # slug -> (en words, zh name)
    phrases: dict[str, str] = field(default_factory=dict)
    brands: dict[str, str] = field(default_factory=dict)  # lower-cased brand or its Chinese name -> brand
    titles: dict[str, tuple[str, str]] = field(default_factory=dict)  # product id -> (title_en, title_zh)
    prices: dict[str, float] = field(default_factory=dict)
    product_categories: dict[str, str] = field(default_factory=dict)
    id_pattern: re.Pattern[str] | None = None

    def find_category(self, text: str) -> str | None:
        low = text.lower()
        best: tuple[int, str] | None = None
        for phrase, slug in self.phrases.items():
            if _contains(low, phrase) and (best is None or len(phrase) > best[0]):
                best = (len(phrase), slug)
        return best[1] if best else None

    def find_brand(self, text: str) -> str | None:
        low = text.lower()
        hits = [b for b in self.brands if len(b) >= 2 and _contains(low, b)]
        return self.brands[max(hits, key=len)] if hits else None

    def find_product_ids(self, text: str) -> list[str]:
        if self.id_pattern is None:
            return []
        found = [m.group(0) for m in self.id_pattern.finditer(text)]
        return [pid for pid in dict.fromkeys(found) if pid in self.titles]

    def missing_from_names(self, asked: str) -> bool:
        """Whether ``asked`` ("coffee machines", "咖啡机") names a thing no product title or category name of
        the shop contains: some English word of it (plural or not) in no English name, or, in Chinese, the noun
        after its last modifier (便宜的咖啡 -> 咖啡) in no Chinese name. Describing words (cheap, good, red…) are
        not names and never count as missing: they would turn "cheap coffee" into "we don't sell that"."""
        for word in re.findall(r"[a-z][a-z-]{2,}", asked.lower()):
            if word in _DESCRIBING_WORDS:
                continue
            forms = {word, word.removesuffix("s"), word.removesuffix("es")} - {""}
            if not any(f" {form} " in self._names_en for form in forms):
                return True
        noun = re.sub(r"[^\u4e00-\u9fff]", "", asked.rsplit("的", 1)[-1])
        return len(noun) >= 2 and noun not in _DESCRIBING_ZH and noun not in self._names_zh

    # The names a "do you have X?" is checked against, joined once per catalog (the catalog is cached per store).
    @cached_property
    def _names_en(self) -> str:
        names = " ".join([t[0] for t in self.titles.values()] + [w for w, _ in self.categories.values()])
        return " " + re.sub(r"[^a-z0-9]+", " ", names.lower()) + " "

    @cached_property
    def _names_zh(self) -> str:
        return "".join([t[1] or "" for t in self.titles.values()] + [z for _, z in self.categories.values()])

    def id_like_tokens(self, text: str) -> list[str]:
        """Every token shaped like a product id, known or not (the grounding check flags unknown ones)."""
        return [m.group(0) for m in self.id_pattern.finditer(text)] if self.id_pattern else []


# Words that say what kind of a thing is wanted, not what thing: never "missing" from a catalog's names.
_DESCRIBING_WORDS = frozenset(
    [
        "any",
        "anything",
        "some",
        "something",
        "other",
        "others",
        "more",
        "cheap",
        "cheaper",
        "cheapest",
        "affordable",
        "budget",
        "inexpensive",
        "low",
        "price",
        "prices",
        "priced",
        "good",
        "better",
        "best",
        "great",
        "nice",
        "top",
        "quality",
        "premium",
        "luxury",
        "high",
        "end",
        "expensive",
        "new",
        "newest",
        "latest",
        "popular",
        "sale",
        "discount",
        "discounted",
        "deal",
        "deals",
        "promotion",
        "offer",
        "gift",
        "gifts",
        "present",
        "presents",
        "red",
        "blue",
        "black",
        "white",
        "green",
        "pink",
        "grey",
        "gray",
        "small",
        "large",
        "big",
        "bigger",
        "mini",
        "portable",
        "under",
        "below",
        "above",
        "over",
        "around",
        "less",
        "than",
        "for",
        "with",
        "and",
        "the",
        "you",
        "your",
        "our",
        "ones",
        "one",
        "kind",
        "kinds",
        "type",
        "types",
        "sort",
        "brand",
        "brands",
        "product",
        "products",
        "item",
        "items",
        "thing",
        "things",
        "stuff",
        "here",
        "there",
        "please",
        "also",
        "still",
        "now",
        "today",
        "yuan",
        "rmb",
        "men",
        "women",
        "kids",
        "children",
    ]
)
_DESCRIBING_ZH = frozenset({"东西", "商品", "产品", "好货", "什么", "礼物", "便宜货"})


def _contains(low_text: str, phrase: str) -> bool:
    if phrase.isascii():  # whole words for latin phrases ("pan" must not match "japan")
        return re.search(rf"(?<![a-z0-9]){re.escape(phrase)}(?![a-z0-9])", low_text) is not None
    return phrase in low_text


def _id_pattern(ids: list[str]) -> re.Pattern[str] | None:
    """A regex for the id shape of this catalog: common alpha prefix + digits (e.g. P00042, sku-123)."""
    if not ids:
        return None
    prefixes = {re.match(r"[A-Za-z_-]*", pid).group(0) for pid in ids}  # type: ignore[union-attr]
    alternatives = "|".join(sorted((re.escape(p) for p in prefixes if p), key=len, reverse=True))
    if not alternatives:
        return re.compile(r"(?<![A-Za-z0-9_-])\d{3,}(?![A-Za-z0-9_-])")
    return re.compile(rf"(?<![A-Za-z0-9_-])(?:{alternatives})\d+(?![A-Za-z0-9_])")


def load_catalog(settings: Settings) -> Catalog:
    engine = get_engine(settings)
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                products.c.product_id, products.c.title_en, products.c.title_zh, products.c.brand,
                products.c.category, products.c.category_zh, products.c.price,
            )
        ).all()  # fmt: skip
    return build_catalog(rows)


def build_catalog(rows: list[Any]) -> Catalog:
    """A catalog from ``(product_id, title_en, title_zh, brand, category, category_zh, price)`` rows."""
    catalog = Catalog()
    for pid, title_en, title_zh, brand, category, category_zh, price in rows:
        catalog.titles[pid] = (title_en, title_zh)
        catalog.prices[pid] = float(price)
        catalog.product_categories[pid] = category
        catalog.brands[brand.lower()] = brand
        zh_brand = (title_zh or "").split(" ", 1)[0]
        if (title_en or "").startswith(brand) and zh_brand and not zh_brand.isascii():
            catalog.brands.setdefault(zh_brand, brand)  # "索尼 WH-1000XM5 耳机": 索尼 names Sony
        if category not in catalog.categories:
            catalog.categories[category] = (category.replace("-", " "), category_zh or "")
    for slug, (words, zh) in catalog.categories.items():
        catalog.phrases[words.lower()] = slug
        if words.endswith("s"):
            catalog.phrases[words[:-1].lower()] = slug
        if zh:
            catalog.phrases[zh] = slug
        for synonym in CATEGORY_SYNONYMS.get(slug, ()):
            catalog.phrases.setdefault(synonym.lower(), slug)
    catalog.id_pattern = _id_pattern(list(catalog.titles))
    return catalog


@per_settings("database_url")
def get_catalog(settings: Settings) -> Catalog:
    return load_catalog(settings)
