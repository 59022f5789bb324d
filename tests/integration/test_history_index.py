"""Per-user history index: one doc per order/review/search/browsing session; never another user's documents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert

from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine
from evals.sample_shop import T0, seed_store
from vectorstore.index import ShopIndex, get_shop_index


@pytest.fixture()
def shop(tmp_path) -> ShopIndex:
    settings = Settings(data_dir=tmp_path / "data", llm="none")
    seed_store(get_engine(settings))
    index = get_shop_index(settings)
    stats = index.refresh(progress=False)
    assert stats.history_total == 10
    return index


def test_one_document_per_order_review_search_and_session(shop: ShopIndex) -> None:
    hits = shop.search_history("u1", "", 20)
    assert sorted(h.doc_id for h in hits) == sorted(
        ["u1:order:o1", "u1:order:o2", "u1:review:r1", "u1:search:e1", "u1:browse:a"]
    )
    assert [h.ts for h in hits] == sorted((h.ts for h in hits), reverse=True)  # empty query: newest first
    order = next(h for h in hits if h.doc_id == "u1:order:o2")
    assert order.kind == "order" and order.amount == 200.0
    assert "三顿半" in order.text and "Saturnbird" in order.text
    browse = next(h for h in hits if h.kind == "browse")
    assert "加入购物车" in browse.text and "耐克" in browse.text


def test_complaints_are_found_in_either_language(shop: ShopIndex) -> None:
    assert shop.search_history("u1", "尺码太小 size too small", 1)[0].doc_id == "u1:review:r1"
    # "What did this user complain about?": reviews only, the Chinese question finds the English complaint.
    assert shop.search_history("u2", "耳机坏了", 1, kinds=["review"])[0].doc_id == "u2:review:r2"
    assert shop.search_history("u2", "咖啡好喝", 1, kinds=["review"])[0].doc_id == "u2:review:r3"


def test_another_users_documents_never_return(shop: ShopIndex) -> None:
    # Queries written to match u2's documents exactly, asked for u1, with k larger than everything indexed.
    for query in (
        "The headphones broke after a week, terrible battery",
        "noise cancelling headphones",
        "o3",
        "",
    ):
        hits = shop.search_history("u1", query, 50)
        assert hits and all(h.user_id == "u1" and h.doc_id.startswith("u1:") for h in hits)
    assert shop.search_history("nobody", "headphones", 50) == []
    with pytest.raises(ValueError):
        shop.search_history("", "headphones")


def test_kinds_filter(shop: ShopIndex) -> None:
    hits = shop.search_history("u1", "跑步鞋", 10, kinds=["search", "review"])
    assert {h.kind for h in hits} == {"search", "review"}


def test_retriever_is_bound_to_one_user(shop: ShopIndex) -> None:
    docs = shop.as_retriever("history", user_id="u2", k=10).invoke("running shoes")
    assert docs and all(d.metadata["user_id"] == "u2" for d in docs)
    with pytest.raises(ValueError):
        shop.as_retriever("history", k=3).invoke("x")


def test_forget_user_deletes_every_history_doc(shop: ShopIndex) -> None:
    assert shop.forget_user("u2") == 5
    assert shop.search_history("u2", "headphones", 10) == []
    assert len(shop.search_history("u1", "", 10)) == 5  # the other user is untouched
    assert shop.forget_user("u2") == 0


def test_new_activity_is_indexed_incrementally(shop: ShopIndex) -> None:
    with get_engine(shop.settings).begin() as conn:
        conn.execute(
            insert(schema.events),
            [
                {
                    "event_id": "e9",
                    "user_id": "u2",
                    "kind": "search",
                    "ts": T0 + timedelta(days=40),
                    "session_id": "z",
                    "product_id": None,
                    "query": "猫粮 cat food",
                }
            ],
        )
    assert shop.refresh_user("u2") == 1
    assert shop.search_history("u2", "猫粮", 1)[0].doc_id == "u2:search:e9"
    stats = shop.refresh(progress=False, products=False)
    assert (stats.history_upserted, stats.history_deleted, stats.texts_embedded) == (0, 0, 0)
