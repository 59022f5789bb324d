"""Right to erasure: remove one user's data from the store, every Chroma collection and every cache.

Order matters for re-runs: the texts that were embedded are collected first (from Chroma and the store), then
Chroma, the embedding cache, the agent checkpoints and saved per-user model tables (the value engine's
population/features parquet files) are cleaned, and the store rows go last in one
transaction. If anything fails, running ``forget`` again finishes the job: every step is idempotent and works
even when the user is already gone from the store. The audit log keeps one record of the erasure itself,
under a keyed pseudonym (HMAC with a secret key, so the erased id cannot be recovered by hashing candidate
ids); earlier audit rows about the user get the same pseudonym (staff accountability stays, the link to the id
goes). Agent conversations go too: the shopper's own and every staff conversation that mentions the user.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from domain.privacy.access import Principal
from domain.privacy.crypto import keyed_pseudonym
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine

log = logging.getLogger(__name__)

ERASURE_ACTION = "erase_user"


class ErasureReport(BaseModel):
    user_id: str
    existed: bool
    removed: dict[str, int] = Field(default_factory=dict)  # "store.orders" -> rows, "chroma.history" -> docs
    warnings: list[str] = Field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.removed.values())


def user_exists(settings: Settings, user_id: str) -> bool:
    with get_engine(settings).connect() as conn:
        return (
            conn.execute(select(schema.users.c.user_id).where(schema.users.c.user_id == user_id)).first()
            is not None
        )


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


def _delete_store_rows(conn: Connection, user_id: str, pseudonym: str) -> dict[str, int]:
    s = schema
    order_ids = select(s.orders.c.order_id).where(s.orders.c.user_id == user_id)
    removed: dict[str, int] = {}
    # children before parents, so it works with or without ON DELETE CASCADE (SQLite pragma, PostgreSQL)
    steps = [
        ("order_lines", delete(s.order_lines).where(s.order_lines.c.order_id.in_(order_ids))),
        ("orders", delete(s.orders).where(s.orders.c.user_id == user_id)),
        ("reviews", delete(s.reviews).where(s.reviews.c.user_id == user_id)),
        ("events", delete(s.events).where(s.events.c.user_id == user_id)),
        ("value_assessments", delete(s.value_assessments).where(s.value_assessments.c.user_id == user_id)),
        ("llm_cache", delete(s.llm_cache).where(s.llm_cache.c.user_id == user_id)),
        ("feedback", delete(s.feedback).where(s.feedback.c.user_id == user_id)),
        ("users", delete(s.users).where(s.users.c.user_id == user_id)),
    ]
    for name, statement in steps:
        removed[f"store.{name}"] = conn.execute(statement).rowcount or 0
    removed["store.audit_log_pseudonymised"] = (
        conn.execute(
            update(s.audit_log)
            .where(s.audit_log.c.subject_user_id == user_id, s.audit_log.c.action != ERASURE_ACTION)
            .values(subject_user_id=pseudonym)
        ).rowcount
        or 0
    )
    return removed


def _history_texts_from_store(settings: Settings, user_id: str) -> list[str]:
    try:
        from vectorstore.documents import iter_history_docs
    except ImportError:
        return []
    return [doc.text for doc in iter_history_docs(get_engine(settings), user_id=user_id)]


def _forget_in_chroma(settings: Settings, user_id: str, report: ErasureReport) -> list[str]:
    """Delete the user's documents from every collection; returns the texts they held (for the cache)."""
    from vectorstore.index import get_shop_index

    index = get_shop_index(settings)
    texts: list[str] = []
    for collection in index.client.list_collections():
        name = collection if isinstance(collection, str) else collection.name
        coll = index.client.get_collection(name, embedding_function=index.embedder)
        found = coll.get(where={"user_id": user_id}, include=["documents"])
        ids = list(found["ids"])
        texts.extend(doc for doc in (found.get("documents") or []) if doc)
        for start in range(0, len(ids), 5000):
            coll.delete(ids=ids[start : start + 5000])
        report.removed[f"chroma.{name}"] = len(ids)
    # the retrieval engineer's own hook too (it may clean side tables of its own)
    extra = index.forget_user(user_id)
    if extra:
        report.removed["chroma.user_history"] = report.removed.get("chroma.user_history", 0) + extra
    return texts


def _forget_embeddings(settings: Settings, texts: list[str]) -> int:
    """Delete cached vectors of the user's texts (the cache is keyed by sha256(model, text))."""
    from vectorstore.embedding import EmbeddingCache, get_embedding_function

    path = settings.cache_dir / "embeddings.sqlite"
    if not texts or not path.exists():
        return 0
    model_id = get_embedding_function(settings).model_id
    keys = sorted({EmbeddingCache.key(model_id, text) for text in texts})
    removed = 0
    with sqlite3.connect(str(path), timeout=30) as conn:
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            removed += conn.execute(f"DELETE FROM vectors WHERE key IN ({marks})", chunk).rowcount
    return removed


def _forget_model_rows(settings: Settings, user_id: str) -> int:
    """Drop the user's rows from saved per-user model tables (the value engine's population and features)."""
    import pandas as pd

    removed = 0
    for path in sorted(settings.models_dir.glob("**/*.parquet")):
        frame = pd.read_parquet(path)
        mask = pd.Series(frame.index.astype(str) == user_id, index=frame.index)
        if "user_id" in frame.columns:
            mask |= frame["user_id"].astype(str) == user_id
        if mask.any():
            tmp = path.with_suffix(".parquet.tmp")
            frame[~mask].to_parquet(tmp)
            tmp.replace(path)
            removed += int(mask.sum())
    return removed


def forget_user(settings: Settings, user_id: str, *, principal: Principal | None = None) -> ErasureReport:
    """Erase ``user_id`` everywhere; returns what was removed. Safe to run again."""
    user_id = (user_id or "").strip()
    if not user_id:
        raise ValueError("user_id is required")
    report = ErasureReport(user_id=user_id, existed=user_exists(settings, user_id))
    texts = _history_texts_from_store(settings, user_id)

    try:
        texts += _forget_in_chroma(settings, user_id, report)
    except Exception as exc:  # a broken index must not block the store erasure; a re-run retries it
        log.exception("Chroma erasure failed")
        report.warnings.append(f"Chroma: {exc.__class__.__name__}: {exc} (run forget again)")
    try:
        report.removed["cache.embeddings"] = _forget_embeddings(settings, texts)
    except Exception as exc:
        report.warnings.append(f"embedding cache: {exc.__class__.__name__}: {exc}")
    try:
        from agent.memory import forget_user_threads

        report.removed["cache.agent_threads"] = forget_user_threads(settings, user_id)
    except ImportError:
        pass
    except Exception as exc:
        report.warnings.append(f"agent checkpoints: {exc.__class__.__name__}: {exc}")

    try:
        report.removed["models.user_rows"] = _forget_model_rows(settings, user_id)
    except Exception as exc:
        report.warnings.append(f"model tables: {exc.__class__.__name__}: {exc}")

    engine = get_engine(settings)
    actor = principal or Principal.staff("cli")
    with engine.begin() as conn:
        pseudonym = keyed_pseudonym(settings, user_id)
        report.removed.update(_delete_store_rows(conn, user_id, pseudonym))
        conn.execute(
            schema.audit_log.insert().values(
                ts=datetime.now(UTC).replace(tzinfo=None),
                actor=actor.actor,
                role=actor.role.value,
                subject_user_id=pseudonym,
                action=ERASURE_ACTION,
                reason=f"right to erasure: {sum(report.removed.values())} items removed",
            )
        )
    return report
