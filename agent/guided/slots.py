"""Rules for what a message says, in both languages: its language, budget, price preference, category, brand,
product references ("the first one", "这个和那个", ids), order id and (for staff) the user asked about."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from agent.guided.answers import find_criterion, find_yes_no
from agent.vocabulary import Catalog


class Slots(BaseModel):
    budget_min: float | None = Field(default=None, ge=0)
    budget_max: float | None = Field(default=None, ge=0)
    price_preference: Literal["low", "high"] | None = None
    category: str | None = None
    brand: str | None = None
    product_ids: list[str] = Field(default_factory=list)
    ordinals: list[int] = Field(default_factory=list)  # 1-based positions in the last list shown; -1 = last
    demonstratives: int = 0  # "this"/"that"/"这个"/"那个": refers to products shown before
    order_id: str | None = None
    target_user_id: str | None = None
    query: str = ""
    criterion: str | None = None  # "for a student" -> "student" (agent.guided.answers.CRITERIA)
    yes_no: Literal["on_sale", "in_stock", "rating"] | None = None  # "is it on sale?"
    # "anything cheaper?" moves from what was shown
    relative: Literal["cheaper", "pricier", "bigger"] | None = None
    # "便宜一点的跑鞋" / "high-end headphones": the list is ordered by price within the need (agent.guided.planner)
    price_sort: Literal["low_first", "high_first"] | None = None
    # "Recommend a skincare product for me": the need is the whole category (set by the planner, see only_category)
    only_category: bool = False


_NUM = r"(\d+(?:\.\d+)?)\s*(k|千|万)?"
_CUR = r"(?:元|块钱|块|rmb|yuan|cny|¥|￥|\$)"


def _num(value: str, unit: str | None) -> float:
    number = float(value)
    return number * {"k": 1_000, "千": 1_000, "万": 10_000}.get((unit or "").lower(), 1)


_RANGE_PATTERNS = (
    re.compile(
        rf"(?:between\s*)?[¥￥$]?\s*{_NUM}\s*{_CUR}?\s*(?:-|~|to|and|到|至|—)\s*[¥￥$]?\s*{_NUM}\s*{_CUR}?",
        re.I,
    ),
)
_MAX_PATTERNS = (
    re.compile(
        rf"(?:under|below|less than|cheaper than|at most|max(?:imum)?|up to|within|no more than|budget(?: of| is)?|<)\s*[¥￥$]?\s*{_NUM}",
        re.I,
    ),
    re.compile(rf"(?:不超过|不要超过|低于|少于|最多|预算|预算是|预算在)\s*[¥￥]?\s*{_NUM}", re.I),
    re.compile(rf"[¥￥]?\s*{_NUM}\s*{_CUR}?\s*(?:以内|以下|之内|内|左右以内|or less|or under|max)", re.I),
)
_MIN_PATTERNS = (
    re.compile(rf"(?:over|above|more than|at least|from|starting at|>)\s*[¥￥$]?\s*{_NUM}", re.I),
    re.compile(rf"(?:高于|超过|至少|起码)\s*[¥￥]?\s*{_NUM}", re.I),
    re.compile(rf"[¥￥]?\s*{_NUM}\s*{_CUR}?\s*(?:以上|起|or more|plus|\+)", re.I),
)
_AROUND_PATTERNS = (
    re.compile(rf"(?:around|about|roughly|approximately|~)\s*[¥￥$]?\s*{_NUM}", re.I),
    re.compile(rf"[¥￥]?\s*{_NUM}\s*{_CUR}?\s*(?:左右|上下)", re.I),
)
_BARE_PRICE = re.compile(rf"[¥￥]\s*{_NUM}|{_NUM}\s*(?:元|块|rmb|yuan|cny)(?![a-z])", re.I)
_CHEAP_RE = re.compile(
    r"\b(?:cheap|cheaper|cheapest|affordable|budget|inexpensive|bargain|deal|deals|on sale|discount)\b|便宜|实惠|划算|性价比|优惠|打折|特价|省钱",
    re.I,
)
_PREMIUM_RE = re.compile(
    r"\b(?:premium|luxury|high[- ]end|top[- ]of[- ]the[- ]line|best quality|flagship)\b|高端|奢侈|豪华|顶级|旗舰|贵一点|品质好",
    re.I,
)

_ORDINAL_EN = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": -1,
}
_ORDINAL_ZH = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "1": 1,
    "2": 2,
    "3": 3,
    "4": 4,
    "5": 5,
    "6": 6,
}
_ORDINAL_EN_RE = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b(?:\s+(?:one|item|product))?", re.I
)
_ORDINAL_NUM_RE = re.compile(r"\b(?:number|no\.?|#|item)\s*([1-6])\b", re.I)
_ORDINAL_ZH_RE = re.compile(r"第\s*([一二两三四五六1-6])\s*(?:个|款|件|种|项|号)?|最后(?:一)?(?:个|款|件)")
_DEMONSTRATIVE_RE = re.compile(
    r"\b(?:this|that|these|those|them|it|both)\b|这个|那个|这款|那款|这两|它们|它|两个|两款", re.I
)
_RELATIVE: tuple[tuple[Literal["cheaper", "pricier", "bigger"], re.Pattern[str]], ...] = (
    ("cheaper", re.compile(r"\bcheaper\b|\bless expensive\b|\blower price|更便宜|便宜(?:一|些|点)|再便宜|价格低一|实惠一", re.I)),
    ("pricier", re.compile(r"\bmore (?:premium|expensive|upmarket|high[- ]end)\b|\bpricier\b|\bfancier\b|\bbetter quality\b|更高端|更贵|高端一|贵一|好一点|更好的", re.I)),
    ("bigger", re.compile(r"\bbigger\b|\blarger\b|\bmore capacity\b|更大|大一|大号|容量更大", re.I)),
)  # fmt: skip


_CHEAP_ASK_RE = re.compile(
    r"\b(?:cheap|cheaper|cheapest|affordable|inexpensive|low[- ]priced?|budget[- ]friendly)\b|便宜|实惠|低价|平价|省钱",
    re.I,
)


def parse_price_sort(
    text: str, relative: str | None, preference: str | None
) -> Literal["low_first", "high_first"] | None:
    """A price order only for words about price itself: "on sale"/"优惠" want promotions, "my budget is 500"
    wants the budget filter, neither wants the cheapest products first."""
    if relative == "cheaper" or (relative is None and _CHEAP_ASK_RE.search(text)):
        return "low_first"
    if relative == "pricier" or (relative is None and preference == "high"):
        return "high_first"
    return None


def parse_relative(text: str) -> Literal["cheaper", "pricier", "bigger"] | None:
    return next((kind for kind, pattern in _RELATIVE if pattern.search(text)), None)


_ORDER_ID_RE = re.compile(
    r"(?<![A-Za-z0-9_-])(?:O|ORD|order[-_#]?)[-_]?\d{3,}(?![A-Za-z0-9_])|(?<=订单)\s*[A-Za-z0-9-]{4,}|(?<=order )#?[A-Za-z]*-?\d{3,}",
    re.I,
)


def parse_budget(text: str) -> tuple[float | None, float | None, Literal["low", "high"] | None]:
    """``(min, max, preference)`` from budget phrases: "under 500 yuan", "500元以内", "300到800", "¥200", "便宜"."""
    low_text = text.lower()
    budget_min = budget_max = None
    for pattern in _RANGE_PATTERNS:
        match = pattern.search(low_text)
        if match and (
            re.search(_CUR, match.group(0), re.I)
            or re.search(r"between|到|至|budget|预算|price|价", low_text)
        ):
            a, b = _num(match.group(1), match.group(2)), _num(match.group(3), match.group(4))
            if a < b:
                budget_min, budget_max = a, b
                break
    if budget_max is None:
        for pattern in _MAX_PATTERNS:
            if match := pattern.search(low_text):
                budget_max = _num(match.group(1), match.group(2))
                break
    if budget_min is None:
        for pattern in _MIN_PATTERNS:
            if (match := pattern.search(low_text)) and not re.search(
                r"\d+\s*(?:个|件|款|stars?|星)", match.group(0)
            ):
                budget_min = _num(match.group(1), match.group(2))
                break
    if budget_min is None and budget_max is None:
        for pattern in _AROUND_PATTERNS:
            if match := pattern.search(low_text):
                center = _num(match.group(1), match.group(2))
                budget_min, budget_max = round(center * 0.7, 2), round(center * 1.3, 2)
                break
    if budget_min is None and budget_max is None and (match := _BARE_PRICE.search(low_text)):
        groups = [g for g in match.groups()]
        value, unit = (groups[0], groups[1]) if groups[0] else (groups[2], groups[3])
        budget_max = _num(value, unit)
    preference: Literal["low", "high"] | None = None
    if _PREMIUM_RE.search(text):
        preference = "high"
    elif _CHEAP_RE.search(text):
        preference = "low"
    return budget_min, budget_max, preference


def parse_ordinals(text: str) -> list[int]:
    found: list[int] = []
    for match in _ORDINAL_EN_RE.finditer(text):
        found.append(_ORDINAL_EN[match.group(1).lower()])
    for match in _ORDINAL_NUM_RE.finditer(text):
        found.append(int(match.group(1)))
    for match in _ORDINAL_ZH_RE.finditer(text):
        found.append(_ORDINAL_ZH[match.group(1)] if match.group(1) else -1)
    return list(dict.fromkeys(found))


def extract_slots(text: str, catalog: Catalog, *, known_user_ids: set[str] | None = None) -> Slots:
    budget_min, budget_max, preference = parse_budget(text)
    relative = parse_relative(text)
    product_ids = catalog.find_product_ids(text)
    order_match = _ORDER_ID_RE.search(text)
    order_id = order_match.group(0).strip().lstrip("#") if order_match else None
    if order_id and order_id.lower().startswith("order") and not re.match(r"order[-_#]?\d", order_id, re.I):
        order_id = None
    target = None
    if known_user_ids:
        for token in re.findall(r"[A-Za-z0-9_-]{3,}", text):
            if token in known_user_ids:
                target = token
                break
    return Slots(
        budget_min=budget_min,
        budget_max=budget_max,
        price_preference=preference,
        category=catalog.find_category(text),
        brand=catalog.find_brand(text),
        product_ids=product_ids,
        ordinals=parse_ordinals(text),
        demonstratives=len(_DEMONSTRATIVE_RE.findall(text)),
        order_id=order_id if order_id and order_id not in product_ids else None,
        target_user_id=target,
        query=text.strip()[:300],
        criterion=find_criterion(text),
        yes_no=find_yes_no(text),
        relative=relative,
        price_sort=parse_price_sort(text, relative, preference),
    )


# What a request says besides its category when it asks for nothing in particular.
_FILLER_EN = frozenset({
    "a", "an", "the", "some", "one", "any", "good", "nice", "recommend", "recommendation", "recommendations",
    "suggest", "suggestion", "suggestions", "please", "pls", "me", "my", "for", "i", "i'd", "i'm", "like",
    "would", "could", "can", "you", "want", "need", "looking", "to", "get", "give", "show", "pick", "buy",
    "should", "what", "which", "product", "products", "item", "items", "thing", "things",
})  # fmt: skip
_FILLER_ZH_RE = re.compile(
    r"推荐|建议|适合|一款|一个|一些|几款|几个|一下|我的|请|给|帮|想要|想|要|买|看看|什么|我|的|吧|呢|吗|个|款|些|好|产品|商品|用品|品"
)


def only_category(need: str, catalog: Catalog, category: str | None) -> bool:
    """Whether ``need`` names its category and nothing else ("Recommend a skincare product for me please",
    "推荐一款适合我的护肤品"). Ranking such words against the category's products only adds retrieval noise (a
    ¥34 cream "matched" best), so the recommender ranks the whole category for the shopper instead."""
    if not category:
        return False
    # The category's own names only: a synonym may name a kind of it ("air fryer" in kitchen, 降噪耳机), a need.
    en, zh = catalog.categories.get(category, (category.replace("-", " "), ""))
    low = re.sub(rf"(?<![a-z0-9]){re.escape(en.lower().removesuffix('s'))}s?(?![a-z0-9])", " ", need.lower())
    low = low.replace(zh, " ") if zh else low
    words = [w for w in re.findall(r"[a-z0-9']+", low) if w not in _FILLER_EN]
    return not words and not _FILLER_ZH_RE.sub("", "".join(re.findall(r"[\u4e00-\u9fff]+", low)))
