"""`shopguide forget`: after erasure no store row, no Chroma document, no cached vector and no conversation of
that user remains; other users are untouched; a second run is a harmless no-op."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from domain.privacy.access import Principal, audit
from domain.privacy.crypto import keyed_pseudonym
from domain.privacy.erasure import ERASURE_ACTION
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine
from evals.live_server import shop_settings
from ui.erasure import forget_user

TARGET, OTHER, CLI_TARGET = "u000003", "u000005", "u000007"


_settings = shop_settings


def count_user_rows(conn: Connection, user_id: str) -> dict[str, int]:
    """Rows that belong to ``user_id`` in each store table (the audit log's erasure record excluded)."""
    s = schema
    order_ids = select(s.orders.c.order_id).where(s.orders.c.user_id == user_id)
    queries: dict[str, Any] = {
        "order_lines": select(s.order_lines.c.order_id).where(s.order_lines.c.order_id.in_(order_ids)),
        "orders": order_ids,
        "reviews": select(s.reviews.c.review_id).where(s.reviews.c.user_id == user_id),
        "events": select(s.events.c.event_id).where(s.events.c.user_id == user_id),
        "value_assessments": select(s.value_assessments.c.user_id).where(
            s.value_assessments.c.user_id == user_id
        ),
        "llm_cache": select(s.llm_cache.c.key).where(s.llm_cache.c.user_id == user_id),
        "feedback": select(s.feedback.c.id).where(s.feedback.c.user_id == user_id),
        "users": select(s.users.c.user_id).where(s.users.c.user_id == user_id),
        "audit_log": select(s.audit_log.c.id).where(
            s.audit_log.c.subject_user_id == user_id, s.audit_log.c.action != ERASURE_ACTION
        ),
    }
    return {name: len(conn.execute(query).all()) for name, query in queries.items()}


@pytest.fixture(scope="module")
def shop(small_shop_factory) -> Settings:  # type: ignore[no-untyped-def]
    """A small real shop: SQLite store, Chroma index with the real embedder, conversations, caches, audits."""
    from agent.service import ChatService

    settings = small_shop_factory("forget")
    from valuation.service import get_value_service

    get_value_service(settings).train(with_profile=False)  # saves per-user model tables under models_dir
    service = ChatService(settings)
    try:
        for user in (TARGET, OTHER):
            service.respond_sync(f"thread-{user}", "我上次买了什么？", Principal.shopper(user))
            # a staff member's conversation about each user: erasure must take the target's too
            service.respond_sync(f"staff-about-{user}", f"查一下 {user} 的订单", Principal.staff("alice"))
    finally:
        service.close()
    engine = get_engine(settings)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for user in (TARGET, OTHER):
            conn.execute(
                schema.llm_cache.insert().values(
                    key=f"profile:{user}", kind="profile", user_id=user, value={"x": 1}, created_at=now
                )
            )
            conn.execute(
                schema.feedback.insert().values(
                    thread_id=f"thread-{user}",
                    user_id=user,
                    message_index=1,
                    liked=True,
                    message="great",
                    created_at=now,
                )
            )
    audit(engine, Principal.staff("alice"), TARGET, "view_history", "customer called about a refund")
    return settings


def _chroma_docs(settings: Settings, user_id: str) -> dict[str, list[str]]:
    from vectorstore.index import get_shop_index

    index = get_shop_index(settings)
    found: dict[str, list[str]] = {}
    for collection in index.client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        coll = index.client.get_collection(name, embedding_function=index.embedder)
        by_meta = coll.get(where={"user_id": user_id}, include=["documents"])
        everything = coll.get(include=[])
        ids = set(by_meta["ids"]) | {i for i in everything["ids"] if i.startswith(f"{user_id}:")}
        found[name] = sorted(ids)
    return found


def _cached_keys(settings: Settings) -> set[str]:
    with sqlite3.connect(settings.cache_dir / "embeddings.sqlite") as conn:
        return {row[0] for row in conn.execute("SELECT key FROM vectors")}


def _history_keys(settings: Settings, user_id: str) -> set[str]:
    from vectorstore.documents import iter_history_docs
    from vectorstore.embedding import EmbeddingCache, get_embedding_function

    model = get_embedding_function(settings).model_id
    return {  # orders/sessions are embedded from product-title parts, not their own (personal) text
        EmbeddingCache.key(model, d.text)
        for d in iter_history_docs(get_engine(settings), user_id=user_id)
        if not d.parts
    }


def _threads(settings: Settings, user_id: str) -> list[str]:
    from agent.memory import ConversationMemory

    memory = ConversationMemory(settings)
    try:
        return memory.threads_of(user_id)
    finally:
        memory.close()


def _staff_threads(settings: Settings) -> list[str]:
    with sqlite3.connect(settings.data_dir / "agent" / "checkpoints.sqlite") as conn:
        rows = conn.execute(
            "SELECT thread_key FROM agent_threads WHERE user_id IS NULL ORDER BY 1"
        ).fetchall()
    return [row[0] for row in rows]


def _checkpoint_rows(settings: Settings, thread_key: str) -> int:
    with sqlite3.connect(settings.data_dir / "agent" / "checkpoints.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM checkpoints WHERE thread_id = ?", (thread_key,)).fetchone()[
            0
        ]


def _has_user(path: Path, user_id: str) -> bool:
    import pandas as pd

    frame = pd.read_parquet(path)
    in_column = "user_id" in frame.columns and (frame["user_id"].astype(str) == user_id).any()
    return bool(in_column or (frame.index.astype(str) == user_id).any())


def test_forget_removes_every_trace_and_spares_other_users(shop: Settings) -> None:
    engine = get_engine(shop)
    with engine.connect() as conn:
        before_target, before_other = count_user_rows(conn, TARGET), count_user_rows(conn, OTHER)
    assert before_target["orders"] and before_target["events"] and before_target["llm_cache"]
    assert before_target["feedback"] and before_target["audit_log"] >= 1  # staff reads, incl. the chat
    target_docs = _chroma_docs(shop, TARGET)["user_history"]
    assert target_docs
    other_docs = _chroma_docs(shop, OTHER)
    target_keys = _history_keys(shop, TARGET)
    assert target_keys & _cached_keys(shop)  # the index embedded (and cached) the target's texts
    target_threads = _threads(shop, TARGET)
    assert target_threads and _checkpoint_rows(shop, target_threads[0]) > 0
    staff_threads = _staff_threads(shop)
    assert len(staff_threads) == 2
    checkpoint_bytes = (shop.data_dir / "agent" / "checkpoints.sqlite").read_bytes()
    assert "我上次买了什么".encode() not in checkpoint_bytes  # conversations are encrypted at rest

    model_tables = sorted(shop.models_dir.glob("**/*.parquet"))
    assert model_tables and any(_has_user(path, TARGET) for path in model_tables)

    report = forget_user(shop, TARGET)

    assert report.existed and not report.warnings
    assert report.removed["store.users"] == 1
    assert report.removed["store.orders"] == before_target["orders"]
    assert report.removed["chroma.user_history"] == len(target_docs)
    assert report.removed["cache.agent_threads"] == len(target_threads) + 1  # + the staff thread about them
    with engine.connect() as conn:
        assert all(count == 0 for count in count_user_rows(conn, TARGET).values())
        assert count_user_rows(conn, OTHER) == before_other
        audits = conn.execute(select(schema.audit_log)).mappings().all()
    assert all(docs == [] for docs in _chroma_docs(shop, TARGET).values())
    assert _chroma_docs(shop, OTHER) == other_docs
    assert not (target_keys & _cached_keys(shop))
    assert _history_keys(shop, OTHER) <= _cached_keys(shop)
    assert _threads(shop, TARGET) == [] and _checkpoint_rows(shop, target_threads[0]) == 0
    assert _threads(shop, OTHER)
    assert _staff_threads(shop) == [k for k in staff_threads if OTHER in k]
    assert not any(_has_user(path, TARGET) for path in model_tables)
    assert any(_has_user(path, OTHER) for path in model_tables)
    assert report.removed["models.user_rows"] >= 1
    erasures = [a for a in audits if a["action"] == ERASURE_ACTION]
    pseudonym = keyed_pseudonym(shop, TARGET)
    assert [a["subject_user_id"] for a in erasures] == [pseudonym]  # no raw id, even in the erasure record
    assert TARGET not in " ".join(str(a["subject_user_id"]) + str(a["reason"]) for a in audits)
    staff_access = [a for a in audits if a["action"] == "view_history"]
    assert staff_access[0]["actor"] == "alice" and staff_access[0]["subject_user_id"] == pseudonym


def test_second_run_is_a_harmless_no_op(shop: Settings) -> None:
    forget_user(shop, TARGET)
    report = forget_user(shop, TARGET)
    assert not report.existed and not report.warnings
    assert report.total == 0


def test_cli_forget_prints_what_it_removed(shop: Settings, cli_on) -> None:
    from ui.cli import app

    cli_on(shop.data_dir)
    refused = CliRunner().invoke(app, ["forget", CLI_TARGET], input="n\n")
    assert refused.exit_code == 1
    with get_engine(shop).connect() as conn:
        assert count_user_rows(conn, CLI_TARGET)["users"] == 1  # nothing erased without consent
    result = CliRunner().invoke(app, ["forget", CLI_TARGET, "--yes"])
    assert result.exit_code == 0, result.output
    assert "store.orders" in result.output and "chroma.user_history" in result.output
    with get_engine(shop).connect() as conn:
        assert all(count == 0 for count in count_user_rows(conn, CLI_TARGET).values())
    assert all(docs == [] for docs in _chroma_docs(shop, CLI_TARGET).values())


def test_forget_requires_a_user_id(shop: Settings) -> None:
    with pytest.raises(ValueError):
        forget_user(shop, "  ")
