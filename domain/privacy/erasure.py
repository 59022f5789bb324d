"""Right to erasure, the domain's part: the user's store rows and saved per-user model tables (the value
engine's population/features parquet files). ``agent.erasure.forget_user`` runs the whole erasure (Chroma, the
embedding cache and conversations first, these last).

The audit log keeps one record of the erasure itself, under a keyed pseudonym (HMAC with a secret key, so the
erased id cannot be recovered by hashing candidate ids); earlier audit rows about the user get the same
pseudonym (staff accountability stays, the link to the id goes).
"""

from __future__ import annotations

import logging
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


def forget_model_rows(settings: Settings, user_id: str) -> int:
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


def erase_store_rows(
    settings: Settings, user_id: str, report: ErasureReport, principal: Principal | None = None
) -> None:
    """The last step of an erasure: the user's store rows go in one transaction, earlier audit rows about them
    get the keyed pseudonym, and one audit row records the erasure (under the pseudonym too)."""
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
