"""The demo shop's bilingual vocabulary: categories, brands (with the price tiers they sell in), attribute words.

The categories themselves are data in ``categories.json``. Prices are CNY. ``price_range`` is the span from the cheapest budget item to the dearest luxury item of a category;
tiers split it geometrically. Brands list the tiers they sell in, so a few brands span tiers and a few are luxury only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TIERS: tuple[str, ...] = ("budget", "mid", "premium", "luxury")


@dataclass(frozen=True)
class Brand:
    en: str
    zh: str
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    slug: str
    en: str
    zh: str
    price_range: tuple[float, float]
    nouns: tuple[tuple[str, str], ...]  # (en, zh) product nouns
    attributes: tuple[tuple[str, str], ...]  # (en, zh) attribute words
    uses: tuple[tuple[str, str], ...]  # (en, zh) "good for ..." phrases
    brands: tuple[Brand, ...]


def _b(en: str, zh: str, tiers: str) -> Brand:
    return Brand(en, zh, tuple(t for t in TIERS if t[0] in tiers))  # tiers given as letters: "bmpl"


def _load_categories() -> tuple[Category, ...]:
    """Categories live in categories.json (data, not code): slug, names, price span, nouns, attributes, uses, brands."""
    raw = json.loads((Path(__file__).with_name("categories.json")).read_text(encoding="utf-8"))
    return tuple(
        Category(
            slug=c["slug"],
            en=c["en"],
            zh=c["zh"],
            price_range=(float(c["price_range"][0]), float(c["price_range"][1])),
            nouns=tuple((en, zh) for en, zh in c["nouns"]),
            attributes=tuple((en, zh) for en, zh in c["attributes"]),
            uses=tuple((en, zh) for en, zh in c["uses"]),
            brands=tuple(_b(en, zh, tiers) for en, zh, tiers in c["brands"]),
        )
        for c in raw
    )


CATEGORIES: tuple[Category, ...] = _load_categories()

CATEGORY_BY_SLUG = {c.slug: c for c in CATEGORIES}

# --- review phrases by sentiment; {noun} and {attr} are filled from the product ---
REVIEW_POSITIVE_EN = (
    "Really happy with this {noun}, {attr} as described.",
    "Great quality, arrived fast. The {attr} design is excellent.",
    "Worth every yuan. Would buy this {noun} again.",
    "Exactly what I needed, very {attr}.",
)
REVIEW_POSITIVE_ZH = (
    "这款{noun}非常满意，{attr}效果和描述一致。",
    "质量很好，物流很快，{attr}设计很赞。",
    "物超所值，会回购这款{noun}。",
    "正是我需要的，非常{attr}。",
)
REVIEW_NEUTRAL_EN = (
    "The {noun} is okay for the price, nothing special.",
    "Decent, but not as {attr} as I expected.",
)
REVIEW_NEUTRAL_ZH = (
    "这款{noun}性价比一般，中规中矩。",
    "还可以，但没有想象中那么{attr}。",
)
REVIEW_NEGATIVE_EN = (
    "Disappointed: the {noun} broke after two weeks. Asked for a refund.",
    "Not {attr} at all, and customer service was slow to reply.",
    "Arrived damaged and late. Would not recommend.",
)
REVIEW_NEGATIVE_ZH = (
    "很失望，这款{noun}用了两周就坏了，已申请退款。",
    "一点都不{attr}，客服回复也很慢。",
    "收到时包装破损还迟到了，不推荐。",
)

# --- PII name parts ---
ZH_SURNAMES = (
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("赵", "zhao"),
    ("黄", "huang"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("胡", "hu"),
    ("朱", "zhu"),
    ("高", "gao"),
    ("林", "lin"),
    ("何", "he"),
    ("郭", "guo"),
    ("马", "ma"),
    ("罗", "luo"),
)
ZH_GIVEN = (
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("艳", "yan"),
    ("勇", "yong"),
    ("军", "jun"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂英", "guiying"),
    ("子涵", "zihan"),
    ("浩然", "haoran"),
    ("欣怡", "xinyi"),
    ("宇轩", "yuxuan"),
    ("梓萱", "zixuan"),
    ("思远", "siyuan"),
)
EN_FIRST = (
    "James",
    "Mary",
    "John",
    "Patricia",
    "Robert",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Susan",
    "Daniel",
    "Sarah",
    "Thomas",
    "Emily",
    "Oliver",
    "Sophie",
    "Lucas",
    "Hannah",
    "Ethan",
    "Chloe",
    "Noah",
    "Grace",
)
EN_LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Clark",
    "Walker",
    "Young",
    "King",
    "Wright",
    "Scott",
    "Green",
)
EMAIL_DOMAINS_ZH = ("163.com", "qq.com", "126.com", "sina.com", "foxmail.com")
EMAIL_DOMAINS_EN = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")
# (city_en, city_zh, districts_zh, streets_zh)
CITIES = (
    (
        "Shanghai",
        "上海",
        ("浦东新区", "徐汇区", "静安区", "黄浦区"),
        ("张杨路", "淮海中路", "南京西路", "世纪大道"),
    ),
    (
        "Beijing",
        "北京",
        ("朝阳区", "海淀区", "东城区", "西城区"),
        ("建国路", "中关村大街", "长安街", "三里屯路"),
    ),
    ("Shenzhen", "深圳", ("南山区", "福田区", "罗湖区"), ("深南大道", "科技园路", "华强北路")),
    ("Guangzhou", "广州", ("天河区", "越秀区", "海珠区"), ("天河路", "北京路", "江南大道")),
    ("Hangzhou", "杭州", ("西湖区", "滨江区", "上城区"), ("文三路", "江南大道", "延安路")),
    ("Chengdu", "成都", ("锦江区", "武侯区", "高新区"), ("春熙路", "人民南路", "天府大道")),
    ("Nanjing", "南京", ("鼓楼区", "玄武区"), ("中山路", "北京东路")),
    ("Wuhan", "武汉", ("武昌区", "江汉区"), ("中南路", "解放大道")),
)
EN_STREETS = ("Maple Street", "Oak Avenue", "Riverside Road", "Park Lane", "Harbour View", "Hill Road")
