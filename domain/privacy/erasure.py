"""Right to erasure, the domain layer's part: the report every layer fills in, and the store rows.

Each layer erases what it owns (``vectorstore.erasure``, ``valuation.erasure``, ``agent.memory``); the
application-level ``ui.erasure.forget_user`` calls them in order, the store rows last in one transaction. The
audit log keeps one record of the erasure itself, under a keyed pseudonym (HMAC with a secret key, so the erased
id cannot be recovered by hashing candidate ids); earlier audit rows about the user get the same pseudonym (staff
accountability stays, the link to the id goes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from domain.privacy.access import Principal
from domain.privacy.crypto import keyed_pseudonym
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine

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


def validated_user_id(user_id: str) -> str:
    user_id = (user_id or "").strip()
    if not user_id:
        raise ValueError("user_id is required")
    return user_id


def forget_store_rows(
    settings: Settings, user_id: str, report: ErasureReport, *, principal: Principal | None = None
) -> None:
    """The domain layer's part, run last: delete the user's store rows and audit the erasure, in one transaction."""
    actor = principal or Principal.staff("cli")
    pseudonym = keyed_pseudonym(settings, user_id)
    with get_engine(settings).begin() as conn:
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
