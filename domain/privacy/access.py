"""Who may read whose data. Enforced in the tools layer: the model never chooses whose data to read."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy.engine import Engine

from domain.store.schema import audit_log


class Role(StrEnum):
    shopper = "shopper"
    staff = "staff"
    admin = "admin"


class AccessDenied(PermissionError):
    pass


class Principal(BaseModel):
    """The authenticated caller of a session: a shopper bound to their own user id, or a staff member."""

    actor: str
    role: Role
    user_id: str | None = None  # the shopper's own id; None for staff

    @classmethod
    def shopper(cls, user_id: str) -> Principal:
        return cls(actor=f"user:{user_id}", role=Role.shopper, user_id=user_id)

    @classmethod
    def staff(cls, name: str = "staff") -> Principal:
        return cls(actor=name, role=Role.staff)

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.staff, Role.admin)


def resolve_subject(principal: Principal, requested_user_id: str | None) -> str:
    """The user whose data a tool may read. Shoppers always get their own id, whatever was requested."""
    if principal.is_staff:
        if not requested_user_id:
            raise AccessDenied("staff must name the user to look up")
        return requested_user_id
    if principal.user_id is None:
        raise AccessDenied("anonymous session: no user data available")
    if requested_user_id and requested_user_id != principal.user_id:
        raise AccessDenied("a shopper can only read their own data")
    return principal.user_id


def audit(
    engine: Engine, principal: Principal, subject_user_id: str | None, action: str, reason: str = ""
) -> None:
    """Record a staff access (who, whom, when, why). Shopper reads of their own data are not audited."""
    if not principal.is_staff:
        return
    with engine.begin() as conn:
        conn.execute(
            audit_log.insert().values(
                ts=datetime.now(UTC).replace(tzinfo=None),
                actor=principal.actor,
                role=principal.role.value,
                subject_user_id=subject_user_id,
                action=action,
                reason=reason[:500],
            )
        )
