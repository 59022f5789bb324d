"""Right to erasure, application level: every layer forgets what it owns, in order.

The vector store goes first (the store still names the texts that were embedded), then the agent's
conversations and the valuation tables, and the store rows last in one transaction. If anything fails, running
``forget`` again finishes the job: every step is idempotent and works when the user is already gone.
"""

from __future__ import annotations

import valuation.erasure
import vectorstore.erasure
from agent.memory import forget_user_threads
from domain.privacy.access import Principal
from domain.privacy.erasure import ErasureReport, forget_store_rows, user_exists, validated_user_id
from domain.settings import Settings


def forget_user(settings: Settings, user_id: str, *, principal: Principal | None = None) -> ErasureReport:
    """Erase ``user_id`` everywhere; returns what was removed. Safe to run again."""
    user_id = validated_user_id(user_id)
    report = ErasureReport(user_id=user_id, existed=user_exists(settings, user_id))
    vectorstore.erasure.forget_user(settings, user_id, report)
    try:
        report.removed["cache.agent_threads"] = forget_user_threads(settings, user_id)
    except Exception as exc:
        report.warnings.append(f"agent checkpoints: {exc.__class__.__name__}: {exc}")
    valuation.erasure.forget_user(settings, user_id, report)
    forget_store_rows(settings, user_id, report, principal=principal)
    return report


__all__ = ["forget_user", "user_exists"]  # user_exists: the CLI asks before it erases
