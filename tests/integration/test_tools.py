"""Every tool through the real path: demo store (SQLite), real Chroma index, real embedder; access rules enforced."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from domain.privacy.access import AccessDenied, Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import audit_log, order_lines, orders, products, reviews
from tools.compare_products import compare_products
from tools.context import ShopContext
from tools.order_status import get_order_status
from tools.product_details import ProductNotFound, get_product_details
from tools.product_search import search_products
from tools.recommend_products import recommend_products
from tools.registry import TOOL_NAMES, build_tools
from tools.user_history import get_user_history


@pytest.fixture(scope="module")
def shop(demo_settings: Settings) -> Settings:
    from vectorstore.index import get_shop_index

    get_shop_index(demo_settings).refresh(progress=False, history=False)
    return demo_settings


@pytest.fixture(scope="module")
def two_users(shop: Settings) -> tuple[str, str]:
    """Two users with several orders and at least one review each."""
    with get_engine(shop).connect() as conn:
        rows = conn.execute(
            select(orders.c.user_id)
            .where(orders.c.user_id.in_(select(reviews.c.user_id)))
            .group_by(orders.c.user_id)
            .having(func.count() >= 4)
            .order_by(orders.c.user_id)
            .limit(2)
        ).fetchall()
    return rows[0][0], rows[1][0]


def shopper(settings: Settings, uid: str) -> ShopContext:
    return ShopContext(settings, Principal.shopper(uid))


def test_history_is_the_shoppers_own(shop: Settings, two_users: tuple[str, str]) -> None:
    me, other = two_users
    hist = get_user_history(shopper(shop, me), language="en")
    assert hist.user_id == me and hist.n_orders >= 4 and hist.recent_orders
    with get_engine(shop).connect() as conn:
        own_orders = {r[0] for r in conn.execute(select(orders.c.order_id).where(orders.c.user_id == me))}
    assert {o.order_id for o in hist.recent_orders} <= own_orders
    assert all(r.text.startswith("<data>") and r.text.endswith("</data>") for r in hist.recent_reviews)
    with pytest.raises(AccessDenied):
        get_user_history(shopper(shop, me), other)


def test_history_query_searches_only_own_history_docs(shop: Settings, two_users: tuple[str, str]) -> None:
    from vectorstore.index import get_shop_index

    me, other = two_users
    index = get_shop_index(shop)
    index.refresh_user(me)
    index.refresh_user(other)
    hist = get_user_history(shopper(shop, me), query="review", language="zh")
    assert hist.relevant, "the user's indexed history should answer a query"
    assert all(doc.text.startswith("<data>") for doc in hist.relevant)


def test_staff_reads_are_audited(shop: Settings, two_users: tuple[str, str]) -> None:
    me, _ = two_users
    ctx = ShopContext(shop, Principal.staff("agent-7"))
    engine = get_engine(shop)
    with engine.connect() as conn:
        before = conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.actor == "agent-7")
        ).scalar_one()
    assert get_order_status(ctx, me).found
    get_user_history(ctx, me)
    with engine.connect() as conn:
        rows = conn.execute(select(audit_log).where(audit_log.c.actor == "agent-7")).fetchall()
    assert len(rows) == before + 2
    assert {r.action for r in rows[-2:]} == {"get_order_status", "get_user_history"}
    assert all(r.subject_user_id == me for r in rows[-2:])
    with pytest.raises(AccessDenied):
        get_user_history(ctx, None)  # staff must name the user


def test_order_status_never_reveals_another_users_order(shop: Settings, two_users: tuple[str, str]) -> None:
    me, other = two_users
    with get_engine(shop).connect() as conn:
        mine = conn.execute(select(orders.c.order_id).where(orders.c.user_id == me).limit(1)).scalar_one()
        theirs = conn.execute(
            select(orders.c.order_id).where(orders.c.user_id == other).limit(1)
        ).scalar_one()
    ok = get_order_status(shopper(shop, me), order_id=mine, language="en")
    assert ok.found and ok.orders[0].order_id == mine and ok.orders[0].items
    hidden = get_order_status(shopper(shop, me), order_id=theirs, language="en")
    assert not hidden.found and not hidden.orders and "No order" in hidden.message


def test_search_respects_budget_category_and_stock(shop: Settings, two_users: tuple[str, str]) -> None:
    ctx = shopper(shop, two_users[0])
    res = search_products(ctx, "跑步鞋", k=8, max_price=500, language="zh")
    assert res.products
    assert all(p.price <= 500 and p.in_stock for p in res.products)
    res = search_products(ctx, "headphones", k=8, category="headphones", min_price=200, language="en")
    assert res.products and all(p.category == "headphones" and p.price >= 200 for p in res.products)
    with pytest.raises(ValueError):
        search_products(ctx, "coffee", min_price=500, max_price=100)
    with pytest.raises(ValueError):
        search_products(ctx, "   ")


def test_details_and_compare(shop: Settings, two_users: tuple[str, str]) -> None:
    ctx = shopper(shop, two_users[0])
    with get_engine(shop).connect() as conn:
        reviewed = conn.execute(select(reviews.c.product_id).limit(1)).scalar_one()
        pids = [
            r[0]
            for r in conn.execute(
                select(products.c.product_id).where(products.c.category == "coffee").limit(3)
            )
        ]
    details = get_product_details(ctx, reviewed, language="en")
    assert details.product.product_id == reviewed and details.description.startswith("<data>")
    assert details.reviews and all(r.text.startswith("<data>") for r in details.reviews)
    assert "user_id" not in details.model_dump_json()  # reviewers are never identified
    with pytest.raises(ProductNotFound):
        get_product_details(ctx, "p-does-not-exist")
    cmp = compare_products(ctx, pids, language="zh")
    prices = {p.product_id: p.price for p in cmp.products}
    assert cmp.cheapest == min(prices, key=prices.__getitem__) and cmp.same_category
    assert cmp.summary[0].startswith("最便宜")
    with pytest.raises(ProductNotFound):
        compare_products(ctx, [pids[0], "nope"])
    with pytest.raises(ValueError):
        compare_products(ctx, [pids[0]])


def test_recommend_tool_returns_existing_in_stock_items_with_reasons(
    shop: Settings, two_users: tuple[str, str]
) -> None:
    res = recommend_products(
        shopper(shop, two_users[0]), query="gift for my mum", k=5, max_price=800, language="en"
    )
    assert res.personalised and len(res.products) == 5
    with get_engine(shop).connect() as conn:
        stock = dict(conn.execute(select(products.c.product_id, products.c.stock)).fetchall())
    assert all(stock.get(p.product_id, 0) > 0 and p.price <= 800 and p.reason for p in res.products)
    anon = recommend_products(ShopContext(shop, Principal.staff()), query="coffee", k=3, language="zh")
    assert not anon.personalised and anon.user_id is None and anon.products


def test_langchain_tools_bind_the_shopper(shop: Settings, two_users: tuple[str, str]) -> None:
    me, other = two_users
    tools = {t.name: t for t in build_tools(shopper(shop, me))}
    assert set(tools) == set(TOOL_NAMES)
    assert all("user_id" not in t.args for t in tools.values())
    # Even if a model slips a user_id in, a shopper's tool reads only the shopper's own data.
    out = json.loads(tools["get_order_status"].invoke({"language": "en", "user_id": other}))
    assert out["user_id"] == me
    msg = tools["get_user_history"].invoke(
        {"type": "tool_call", "id": "call-1", "name": "get_user_history", "args": {"limit": 2}}
    )
    assert msg.artifact.user_id == me and json.loads(msg.content)["user_id"] == me
    err = json.loads(tools["get_product_details"].invoke({"product_id": "nope"}))
    assert err["code"] == "not_found"
    staff_tools = {t.name: t for t in build_tools(ShopContext(shop, Principal.staff()))}
    assert "user_id" in staff_tools["assess_user_value"].args
    out = json.loads(staff_tools["get_order_status"].invoke({"user_id": other, "language": "en"}))
    assert out["user_id"] == other


def test_order_totals_match_the_store(shop: Settings, two_users: tuple[str, str]) -> None:
    me, _ = two_users
    hist = get_user_history(shopper(shop, me), limit=10)
    with get_engine(shop).connect() as conn:
        n = conn.execute(select(func.count()).select_from(orders).where(orders.c.user_id == me)).scalar_one()
        first_order = hist.recent_orders[0].order_id
        amount = conn.execute(
            select(func.sum(order_lines.c.amount)).where(order_lines.c.order_id == first_order)
        ).scalar_one()
    assert hist.n_orders == n
    assert hist.recent_orders[0].total == pytest.approx(amount, abs=0.01)
