"""A small hand-written bilingual shop for retrieval tests and smoke checks (independent of the demo generator)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine

from domain.store import schema


def _p(
    pid: str, sku: str, en: str, zh: str, brand: str, cat: str, cat_zh: str, price: float, **kw: Any
) -> dict:
    return {
        "product_id": pid,
        "sku": sku,
        "title_en": en,
        "title_zh": zh,
        "description_en": kw.pop("desc_en", ""),
        "description_zh": kw.pop("desc_zh", ""),
        "brand": brand,
        "category": cat,
        "category_zh": cat_zh,
        "price": price,
        "list_price": kw.pop("list_price", price),
        "price_tier": kw.pop("tier", "mid"),
        "on_promotion": kw.pop("promo", False),
        "discount_pct": kw.pop("discount", 0.0),
        "rating": kw.pop("rating", 4.5),
        "rating_count": 100,
        "stock": kw.pop("stock", 50),
    }


SAMPLE_PRODUCTS: list[dict[str, Any]] = [
    _p(
        "s01",
        "NK-320",
        "Nike lightweight breathable running shoes",
        "耐克 轻便透气跑步鞋",
        "Nike",
        "running-shoes",
        "跑步鞋",
        699,
        desc_en="For daily training and marathons.",
        desc_zh="适合日常训练和马拉松。",
    ),
    _p(
        "s02",
        "LN-110",
        "Li-Ning cushioned running shoes",
        "李宁 缓震跑步鞋",
        "Li-Ning",
        "running-shoes",
        "跑步鞋",
        299,
        tier="budget",
        desc_en="Good value shoes for jogging.",
        desc_zh="性价比高的慢跑鞋。",
    ),
    _p(
        "s03",
        "HK-900",
        "Hoka carbon-plate racing shoes",
        "Hoka 碳板竞速跑鞋",
        "Hoka",
        "running-shoes",
        "跑步鞋",
        1899,
        tier="luxury",
        stock=0,
        desc_en="Race day speed.",
        desc_zh="比赛日的速度。",
    ),
    _p(
        "s04",
        "XR-550",
        "Sony XR-550 noise-cancelling wireless headphones",
        "索尼 XR-550 降噪无线耳机",
        "Sony",
        "headphones",
        "耳机",
        1999,
        tier="premium",
        desc_en="Quiet commutes.",
        desc_zh="安静通勤。",
    ),
    _p(
        "s05",
        "ED-120",
        "Edifier bluetooth sports earphones",
        "漫步者 蓝牙运动耳机",
        "Edifier",
        "headphones",
        "耳机",
        199,
        tier="budget",
        promo=True,
        discount=0.2,
        desc_en="Sweat-proof for workouts.",
        desc_zh="运动防汗。",
    ),
    _p(
        "s06",
        "AK-20",
        "Anker fast charger 65W",
        "安克 65W 快充充电器",
        "Anker",
        "phone-accessories",
        "手机配件",
        129,
        tier="budget",
        desc_en="Charges phone and laptop.",
        desc_zh="手机电脑都能充。",
    ),
    _p(
        "s07",
        "BS-10",
        "Baseus shockproof phone case",
        "倍思 防摔手机壳",
        "Baseus",
        "phone-accessories",
        "手机配件",
        39,
        tier="budget",
        promo=True,
        discount=0.3,
        desc_en="Cheap and tough.",
        desc_zh="便宜耐用。",
    ),
    _p(
        "s08",
        "UG-200",
        "Ugreen high-capacity power bank 20000mAh",
        "绿联 大容量充电宝 20000mAh",
        "Ugreen",
        "phone-accessories",
        "手机配件",
        159,
        tier="budget",
        desc_en="For travel.",
        desc_zh="出差旅行必备。",
    ),
    _p(
        "s09",
        "LV-14",
        "Lenovo thin and light laptop for office work",
        "联想 轻薄办公笔记本电脑",
        "Lenovo",
        "laptops",
        "笔记本电脑",
        4999,
        desc_en="All-day battery.",
        desc_zh="长续航。",
    ),
    _p(
        "s10",
        "AP-M3",
        "Apple MacBook Air M3 laptop",
        "苹果 MacBook Air M3 笔记本电脑",
        "Apple",
        "laptops",
        "笔记本电脑",
        8999,
        tier="premium",
        desc_en="Silent and light.",
        desc_zh="静音轻薄。",
    ),
    _p(
        "s11",
        "MD-30",
        "Midea smart rice cooker",
        "美的 智能电饭煲",
        "Midea",
        "kitchen",
        "厨房电器",
        399,
        desc_en="Family meals made easy.",
        desc_zh="家庭做饭更轻松。",
    ),
    _p(
        "s12",
        "PH-55",
        "Philips air fryer large capacity",
        "飞利浦 大容量空气炸锅",
        "Philips",
        "kitchen",
        "厨房电器",
        899,
        tier="premium",
        desc_en="Healthy cooking with less oil.",
        desc_zh="少油健康烹饪。",
    ),
    _p(
        "s13",
        "SB-01",
        "Saturnbird freeze-dried instant coffee",
        "三顿半 冻干速溶咖啡",
        "Saturnbird",
        "coffee",
        "咖啡",
        69,
        tier="budget",
        desc_en="Office mornings.",
        desc_zh="办公室提神。",
    ),
    _p(
        "s14",
        "IL-250",
        "illy medium roast arabica coffee beans",
        "illy 中烘阿拉比卡咖啡豆",
        "illy",
        "coffee",
        "咖啡",
        239,
        tier="premium",
        desc_en="For espresso.",
        desc_zh="适合意式浓缩。",
    ),
    _p(
        "s15",
        "LG-42",
        "LEGO creative building set",
        "乐高 创意积木",
        "LEGO",
        "toys",
        "玩具",
        599,
        desc_en="Gift for kids aged 6+.",
        desc_zh="送给6岁以上儿童的礼物。",
    ),
    _p(
        "s16",
        "DY-357",
        "Dayi aged pu'er tea gift box",
        "大益 陈年普洱茶礼盒",
        "Dayi",
        "tea",
        "茶叶",
        688,
        tier="premium",
        desc_en="A gift for tea lovers.",
        desc_zh="送给爱茶人士。",
    ),
]

T0 = datetime(2026, 5, 1, 10, 0, 0)


def seed_store(
    engine: Engine, products: list[dict[str, Any]] | None = None, *, with_history: bool = True
) -> None:
    """Replace the store's content with the sample shop: products, two users, their orders, reviews, events."""
    products = SAMPLE_PRODUCTS if products is None else products
    with engine.begin() as conn:
        for table in (
            schema.events,
            schema.reviews,
            schema.order_lines,
            schema.orders,
            schema.users,
            schema.products,
        ):
            conn.execute(delete(table))
        conn.execute(insert(schema.products), products)
        if not with_history:
            return
        conn.execute(
            insert(schema.users),
            [
                {"user_id": "u1", "signup_at": T0 - timedelta(days=300), "language": "zh"},
                {"user_id": "u2", "signup_at": T0 - timedelta(days=200), "language": "en"},
            ],
        )
        conn.execute(
            insert(schema.orders),
            [
                {"order_id": "o1", "user_id": "u1", "created_at": T0, "status": "delivered"},
                {
                    "order_id": "o2",
                    "user_id": "u1",
                    "created_at": T0 + timedelta(days=30),
                    "status": "delivered",
                },
                {
                    "order_id": "o3",
                    "user_id": "u2",
                    "created_at": T0 + timedelta(days=5),
                    "status": "returned",
                },
            ],
        )
        conn.execute(
            insert(schema.order_lines),
            [
                {
                    "order_id": "o1",
                    "line_no": 1,
                    "product_id": "s01",
                    "quantity": 1,
                    "unit_price": 699,
                    "discount": 0,
                    "amount": 699,
                },
                {
                    "order_id": "o2",
                    "line_no": 1,
                    "product_id": "s13",
                    "quantity": 3,
                    "unit_price": 69,
                    "discount": 7,
                    "amount": 200,
                },
                {
                    "order_id": "o3",
                    "line_no": 1,
                    "product_id": "s04",
                    "quantity": 1,
                    "unit_price": 1999,
                    "discount": 0,
                    "amount": 1999,
                },
            ],
        )
        conn.execute(
            insert(schema.reviews),
            [
                {
                    "review_id": "r1",
                    "user_id": "u1",
                    "product_id": "s01",
                    "order_id": "o1",
                    "rating": 2,
                    "text": "鞋子太小了，尺码偏小，退换很麻烦",
                    "language": "zh",
                    "created_at": T0 + timedelta(days=3),
                },
                {
                    "review_id": "r2",
                    "user_id": "u2",
                    "product_id": "s04",
                    "order_id": "o3",
                    "rating": 1,
                    "text": "The headphones broke after a week, terrible battery",
                    "language": "en",
                    "created_at": T0 + timedelta(days=8),
                },
                {
                    "review_id": "r3",
                    "user_id": "u2",
                    "product_id": "s13",
                    "order_id": None,
                    "rating": 5,
                    "text": "Great coffee, smooth taste, will buy again",
                    "language": "en",
                    "created_at": T0 + timedelta(days=9),
                },
            ],
        )
        conn.execute(
            insert(schema.events),
            [
                {
                    "event_id": "e1",
                    "user_id": "u1",
                    "kind": "search",
                    "ts": T0 - timedelta(days=1),
                    "session_id": "a",
                    "product_id": None,
                    "query": "轻便跑步鞋",
                },
                {
                    "event_id": "e2",
                    "user_id": "u1",
                    "kind": "view",
                    "ts": T0 - timedelta(days=1),
                    "session_id": "a",
                    "product_id": "s01",
                    "query": None,
                },
                {
                    "event_id": "e3",
                    "user_id": "u1",
                    "kind": "add_to_cart",
                    "ts": T0 - timedelta(hours=20),
                    "session_id": "a",
                    "product_id": "s01",
                    "query": None,
                },
                {
                    "event_id": "e4",
                    "user_id": "u2",
                    "kind": "search",
                    "ts": T0,
                    "session_id": "b",
                    "product_id": None,
                    "query": "noise cancelling headphones",
                },
                {
                    "event_id": "e5",
                    "user_id": "u2",
                    "kind": "view",
                    "ts": T0,
                    "session_id": "b",
                    "product_id": "s04",
                    "query": None,
                },
            ],
        )
