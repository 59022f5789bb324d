"""The UI's few integration points with the rest of ShopGuide, in one place.

``UiContext`` is built once per app. It owns the lazily started ``ChatService``, the rate-limit check, staff
credentials, widget-token verification, feedback storage, catalog reads and the health report, so the Gradio
pages and the HTTP API stay thin and agree on every rule (who the caller is, which thread they may touch).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
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
from domain.privacy.access import Principal
from domain.privacy.crypto import purpose_fernet, seal_text
from domain.privacy.ratelimit import RateLimiter, shared_limiter
from domain.privacy.staff_auth import (
    DEMO_STAFF_NAME,
    DEMO_STAFF_PASSWORD,
    LockedOut,
    StaffAuthenticator,
    parse_staff_users,
)
from domain.privacy.tokens import WidgetTokenError, authorize_widget_token, issue_widget_token
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import get_product, list_products, table_counts
from domain.store.schema import feedback, users, value_assessments

log = logging.getLogger(__name__)

# A client thread id: what the SSE stream echoes and the checkpoint key is built from (no newlines, no quotes).
THREAD_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
# The client address of the request being served, for code that frameworks call without the request
# (Gradio's login callable); set by the staff guard middleware.
current_client: contextvars.ContextVar[str] = contextvars.ContextVar("current_client", default="unknown")


class TokenRefused(Exception):
    """A widget token that is missing, tampered with, expired or revoked. The message is safe to show."""


def is_demo_store(settings: Settings) -> bool:
    """The store was loaded from the generated demo shop (``shopguide setup`` on an empty store)."""
    return (settings.data_dir / "demo" / "manifest.json").exists()


def scoped_thread_id(principal: Principal, client_thread_id: str | None) -> str:
    """Thread ids are namespaced by the caller, so nobody can resume another person's conversation by its id."""
    raw = (client_thread_id or uuid.uuid4().hex).strip()
    safe = "".join(ch for ch in raw if ch.isalnum() or ch in "-_")[:64] or uuid.uuid4().hex
    return f"{principal.actor}/{safe}"


def staff_accounts(settings: Settings, *, demo: bool) -> dict[str, str]:
    """Configured staff accounts, plus the demo account in demo mode (only there)."""
    accounts = parse_staff_users(settings.staff_users)
    if demo:
        accounts.setdefault(DEMO_STAFF_NAME, DEMO_STAFF_PASSWORD)
    return accounts


@dataclass
class UiContext:
    settings: Settings
    demo: bool = False  # demo surfaces (user picker, /widget-demo, demo staff account); serve --demo only
    _chat: Any = field(default=None, repr=False)
    _chat_lock: asyncio.Lock | None = field(default=None, repr=False)
    _staff: StaffAuthenticator | None = field(default=None, repr=False)
    _demo_users: list[tuple[str, str]] | None = field(default=None, repr=False)
    _demo_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
    @property
    def limiter(self) -> RateLimiter:
        return shared_limiter(self.settings)

    def check_rate(self, key: str) -> None:
        """Count one request or chat turn for ``key`` (a principal's actor, else ``ip:<client address>``);
        raises ``RateLimited``."""
        self.limiter.enforce(key)

    # ------------------------------------------------------------------ identity
    @property
    def staff(self) -> StaffAuthenticator:
        if self._staff is None:
            self._staff = StaffAuthenticator(staff_accounts(self.settings, demo=self.demo))
        return self._staff

    def staff_login(self, username: str, password: str, client: str | None = None) -> bool:
        """Right name and password; False otherwise, also while locked out (the guard answers 429 first)."""
        try:
            return self.staff.login(username or "", password or "", client or current_client.get())
        except LockedOut:
            return False

    def verify_token(self, token: str | None) -> Principal:
        """The shopper a token stands for: signature, expiry, revocation and the user's existence checked."""
        if not token:
            raise TokenRefused("missing widget token")
        try:
            return authorize_widget_token(self.settings, token)[0]
        except WidgetTokenError as exc:  # its message says why (expired, bad signature, revoked...)
            raise TokenRefused(str(exc)) from exc

    def issue_token(self, user_id: str, ttl_s: int = 900) -> str:
        return issue_widget_token(self.settings, user_id, ttl_s=ttl_s)

    def demo_users(self, limit: int = 8) -> list[tuple[str, str]]:
        """(label, user_id) for the demo picker: the best users of each value segment, read once per app (a
        page load must not read every assessment)."""
        with self._demo_lock:
            if self._demo_users is None or len(self._demo_users) < limit:
                self._demo_users = _pick_demo_users(self.engine, limit)
            return self._demo_users[:limit]

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
        """Store a like/dislike (the message text encrypted); a second vote on the same message replaces it."""
        values = {
            "thread_id": thread_id[:128],
            "user_id": user_id,
            "message_index": message_index,
            "liked": liked,
            "message": seal_text(purpose_fernet(self.settings, "feedback"), message[:4000])
            if message
            else "",
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
    def health(self, *, detailed: bool) -> dict[str, Any]:
        """``{"status": "ok"|"degraded"}``; the parts (store counts, index path, model) only for staff."""
        report: dict[str, Any] = {"store": _store_status(self.engine), "index": self._index_status()}
        report["llm"] = _llm_status(self.settings)
        status = "ok" if all(part.get("ok") for part in report.values()) else "degraded"
        return {**report, "status": status} if detailed else {"status": status}

    def _index_status(self) -> dict[str, Any]:
        path = self.settings.chroma_path
        if self.settings.chroma_url:
            return {"ok": True, "mode": "server", "url": self.settings.chroma_url}
        exists = bool(path and path.exists() and any(path.iterdir()))
        return {"ok": exists, "mode": "embedded", "path": str(path), "built": exists}


def _pick_demo_users(engine: Engine, limit: int) -> list[tuple[str, str]]:
    """Round-robin over segments of each segment's top scores: one small query per segment."""
    with engine.connect() as conn:
        segments = sorted(conn.execute(select(value_assessments.c.segment).distinct()).scalars().all())
        if not segments:
            ids = conn.execute(select(users.c.user_id).order_by(users.c.user_id).limit(limit)).scalars().all()
            return [(uid, uid) for uid in ids]
        per_segment = {
            segment: list(
                conn.execute(
                    select(value_assessments.c.user_id, value_assessments.c.score)
                    .where(value_assessments.c.segment == segment)
                    .order_by(value_assessments.c.score.desc())
                    .limit(limit)
                ).all()
            )
            for segment in segments
        }
    picked: list[tuple[str, str]] = []
    while len(picked) < limit and any(per_segment.values()):
        for segment in segments:
            if per_segment[segment] and len(picked) < limit:
                row = per_segment[segment].pop(0)
                picked.append((f"{row.user_id} · {segment} · {row.score:.0f}", row.user_id))
    return picked


def _store_status(engine: Engine) -> dict[str, Any]:
    try:
        counts = table_counts(engine)
        return {
            "ok": True,
            "backend": engine.dialect.name,
            "products": counts["products"],
            "users": counts["users"],
        }
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
