"""The UI's few integration points with the rest of ShopGuide, in one place.

``UiContext`` is built once per app. It owns the lazily started ``ChatService``, the rate-limit check, staff
credentials, widget-token verification, feedback storage, catalog reads and the health report, so the Gradio
pages and the HTTP API stay thin and agree on every rule (who the caller is, which thread they may touch).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from agent.events import ChatEvent
from agent.service import ChatService
from domain.i18n import Language, t
from domain.models import Product
from domain.privacy import ratelimit
from domain.privacy.access import Principal
from domain.privacy.tokens import issue_widget_token, verify_widget_token
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import get_product, list_products, table_counts
from domain.store.schema import feedback, users, value_assessments

log = logging.getLogger(__name__)


class TokenRefused(Exception):
    """A widget token that is missing, tampered with or expired. The message is safe to show."""


class RateLimited(Exception):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"rate limit exceeded; retry after {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


def parse_staff_users(spec: str) -> dict[str, str]:
    """``"alice:pw1,bob:pw2"`` → ``{"alice": "pw1", "bob": "pw2"}`` (passwords may contain ':')."""
    accounts: dict[str, str] = {}
    for item in spec.split(","):
        name, sep, password = item.strip().partition(":")
        if name and sep and password:
            accounts[name.strip()] = password
    return accounts


def scoped_thread_id(principal: Principal, client_thread_id: str | None) -> str:
    """Thread ids are namespaced by the caller, so nobody can resume another person's conversation by its id."""
    raw = (client_thread_id or uuid.uuid4().hex).strip()
    safe = "".join(ch for ch in raw if ch.isalnum() or ch in "-_")[:64] or uuid.uuid4().hex
    return f"{principal.actor}/{safe}"


@dataclass
class UiContext:
    settings: Settings
    demo_picker: bool = True
    _chat: Any = field(default=None, repr=False)
    _chat_lock: asyncio.Lock | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ store
    @property
    def engine(self) -> Engine:
        return get_engine(self.settings)

    # ------------------------------------------------------------------ chat
    async def chat_service(self) -> Any:
        """The shared ``agent.service.ChatService``, created on first use (it loads the index and the model)."""
        if self._chat is None:
            if self._chat_lock is None:
                self._chat_lock = asyncio.Lock()
            async with self._chat_lock:
                if self._chat is None:
                    self._chat = await asyncio.to_thread(ChatService, self.settings)
        return self._chat

    async def stream(
        self, thread_id: str, message: str, principal: Principal, lang: Language = "en"
    ) -> AsyncIterator[ChatEvent]:
        """One chat turn as ``ChatEvent``s. Failures end the turn with an ``error`` event, never an exception."""
        try:
            service = await self.chat_service()
            async for event in service.stream(thread_id, message, principal):
                yield event
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat turn failed (thread %s)", thread_id)
            yield ChatEvent(type="error", text=t("chat_unavailable", lang), language=lang)

    def validate_message(self, message: str | None, lang: Language) -> str:
        """The trimmed message, or ValueError with a bilingual-ready reason."""
        text = (message or "").strip()
        if not text:
            raise ValueError(t("empty_message", lang))
        if len(text) > self.settings.max_message_chars:
            raise ValueError(t("message_too_long", lang, n=self.settings.max_message_chars))
        return text

    # ------------------------------------------------------------------ limits
    def check_rate(self, session_key: str) -> None:
        """Per-session sliding-window limit on chat turns (shared with the HTTP middleware); raises RateLimited."""

        decision = ratelimit.check(session_key, self.settings)
        if not decision.allowed:
            raise RateLimited(decision.retry_after_s)

    # ------------------------------------------------------------------ identity
    def staff_login(self, username: str, password: str) -> bool:
        expected = parse_staff_users(self.settings.staff_users).get(username or "")
        return expected is not None and hmac.compare_digest(expected.encode(), (password or "").encode())

    def verify_token(self, token: str | None) -> Principal:
        if not token:
            raise TokenRefused("missing widget token")

        try:
            return verify_widget_token(self.settings, token)
        except Exception as exc:  # the token module's own errors carry the reason (expired, bad signature...)
            raise TokenRefused(str(exc) or "invalid widget token") from exc

    def issue_token(self, user_id: str, ttl_s: int = 900) -> str:
        return issue_widget_token(self.settings, user_id, ttl_s=ttl_s)

    def demo_users(self, limit: int = 8) -> list[tuple[str, str]]:
        """(label, user_id) for the demo picker: one or two users per value segment when scores exist."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    value_assessments.c.user_id, value_assessments.c.segment, value_assessments.c.score
                ).order_by(value_assessments.c.segment, value_assessments.c.score.desc())
            ).all()
            if not rows:
                ids = (
                    conn.execute(select(users.c.user_id).order_by(users.c.user_id).limit(limit))
                    .scalars()
                    .all()
                )
                return [(uid, uid) for uid in ids]
        per_segment: dict[str, list[Any]] = {}
        for row in rows:
            per_segment.setdefault(row.segment, []).append(row)
        picked: list[Any] = []
        while len(picked) < limit and any(per_segment.values()):
            for segment in sorted(per_segment):
                if per_segment[segment] and len(picked) < limit:
                    picked.append(per_segment[segment].pop(0))
        return [(f"{row.user_id} · {row.segment} · {row.score:.0f}", row.user_id) for row in picked]

    # ------------------------------------------------------------------ catalog
    def product(self, product_id: str) -> Product | None:
        return get_product(self.engine, product_id)

    def showcase_products(self, limit: int = 8) -> list[Product]:
        """Well-rated in-stock products, one per category first: the tiles of the widget demo shop."""
        seen: set[str] = set()
        tiles: list[Product] = []
        for product in list_products(self.engine, in_stock_only=True, most_rated_first=True, limit=400):
            if product.category not in seen:
                seen.add(product.category)
                tiles.append(product)
            if len(tiles) >= limit:
                break
        return tiles

    # ------------------------------------------------------------------ feedback
    def save_feedback(
        self, thread_id: str, user_id: str | None, message_index: int, liked: bool, message: str
    ) -> None:
        """Store a like/dislike; a second vote on the same message replaces the first."""
        values = {
            "thread_id": thread_id[:128],
            "user_id": user_id,
            "message_index": message_index,
            "liked": liked,
            "message": message[:4000],
            "created_at": datetime.now(UTC).replace(tzinfo=None),
        }
        with self.engine.begin() as conn:
            conn.execute(
                feedback.delete().where(
                    (feedback.c.thread_id == values["thread_id"])
                    & (feedback.c.message_index == message_index)
                )
            )
            conn.execute(feedback.insert().values(**values))

    # ------------------------------------------------------------------ health
    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"store": _store_status(self.engine), "index": self._index_status()}
        report["llm"] = _llm_status(self.settings)
        report["status"] = "ok" if all(part.get("ok") for part in report.values()) else "degraded"
        return report

    def _index_status(self) -> dict[str, Any]:
        path = self.settings.chroma_path
        if self.settings.chroma_url:
            return {"ok": True, "mode": "server", "url": self.settings.chroma_url}
        exists = bool(path and path.exists() and any(path.iterdir()))
        return {"ok": exists, "mode": "embedded", "path": str(path), "built": exists}


def _store_status(engine: Engine) -> dict[str, Any]:
    try:
        counts = table_counts(engine)
        return {"ok": True, "backend": engine.dialect.name, "products": counts["products"], "users": counts["users"]}
    except Exception as exc:
        return {"ok": False, "backend": engine.dialect.name, "error": type(exc).__name__}


def _llm_status(settings: Settings) -> dict[str, Any]:
    if settings.llm == "none":
        return {"ok": True, "provider": "none", "detail": "guided templates, no model"}
    if settings.llm == "openai":
        configured = bool(settings.openai_api_key.get_secret_value() or settings.openai_base_url)
        return {"ok": configured, "provider": "openai", "model": settings.openai_model}
    import httpx

    try:
        running = (
            httpx.get(f"http://127.0.0.1:{settings.local_port}/v1/models", timeout=1.0).status_code == 200
        )
    except httpx.HTTPError:
        running = False
    # A stopped local server is healthy: it starts on the first chat turn.
    return {"ok": True, "provider": "local", "model": settings.local_model, "server_running": running}
