"""Abuse limits: a per-session sliding-window rate limiter and an ASGI middleware for request size and rate.

The session key is, in order: the bearer token (a widget token), the ``shopguide_session`` cookie, the client
IP. Keys are hashed before they are kept, so the limiter never stores a token. Over the limit the HTTP API
answers 429 with ``Retry-After``; a body over ``max_body_bytes`` gets 413, whether it announces its length or
streams it. The chat path calls :func:`check` with the same session key.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from pydantic import BaseModel

from domain.settings import Settings, get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_COOKIE = "shopguide_session"
DEFAULT_MAX_BODY_BYTES = 64 * 1024
# Gradio's page assets, file downloads, heartbeats and the SSE result stream are many small requests per
# visible action; counting them would throttle a normal page load. Only actions are counted.
DEFAULT_EXEMPT_PREFIXES: tuple[str, ...] = (
    "/assets",
    "/static",
    "/favicon",
    "/health",
    "/gradio_api/file",
    "/gradio_api/heartbeat",
    "/gradio_api/queue/data",
    "/gradio_api/info",
    "/config",
    "/theme.css",
    "/manifest.json",
)


class RateDecision(BaseModel):
    allowed: bool
    remaining: int
    retry_after_s: float = 0.0


class RateLimited(RuntimeError):
    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests: retry after {math.ceil(retry_after_s)} s")
        self.retry_after_s = retry_after_s


class SlidingWindowLimiter:
    """At most ``limit`` events per ``window_s`` for each key (exact sliding window: one timestamp per event).

    Memory is bounded: at most ``max_keys`` sessions are tracked, least recently seen dropped first.
    Thread-safe, so one instance can serve the ASGI app and worker threads together.
    """

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        max_keys: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, key: str, *, cost: int = 1) -> RateDecision:
        """Record one event for ``key`` if it fits in the window; refused events are not recorded."""
        now = self._clock()
        hashed = _hash_key(key)
        with self._lock:
            events = self._events.get(hashed)
            if events is None:
                events = deque()
                self._events[hashed] = events
                while len(self._events) > self.max_keys:
                    self._events.popitem(last=False)
            else:
                self._events.move_to_end(hashed)
            horizon = now - self.window_s
            while events and events[0] <= horizon:
                events.popleft()
            if len(events) + cost > self.limit:
                retry = events[0] + self.window_s - now if events else self.window_s
                return RateDecision(
                    allowed=False, remaining=max(0, self.limit - len(events)), retry_after_s=retry
                )
            events.extend([now] * cost)
            return RateDecision(allowed=True, remaining=self.limit - len(events))

    def reset(self, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._events.clear()
            else:
                self._events.pop(_hash_key(key), None)


def _hash_key(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=16).hexdigest()


_shared: dict[tuple[int, float], SlidingWindowLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(settings: Settings | None = None, *, window_s: float = 60.0) -> SlidingWindowLimiter:
    """The process-wide limiter for ``settings.rate_limit_per_minute`` (HTTP API and chat share it)."""
    settings = settings or get_settings()
    key = (settings.rate_limit_per_minute, window_s)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = SlidingWindowLimiter(settings.rate_limit_per_minute, window_s)
        return _shared[key]


def check(session_key: str, settings: Settings | None = None) -> RateDecision:
    """Count one chat turn for this session; ``allowed`` is False when over ``rate_limit_per_minute``."""
    return shared_limiter(settings).check(session_key or "anonymous")


def enforce(session_key: str, settings: Settings | None = None) -> None:
    """Like :func:`check` but raises ``RateLimited`` (with ``retry_after_s``) when over the limit."""
    decision = check(session_key, settings)
    if not decision.allowed:
        raise RateLimited(decision.retry_after_s)


def session_key_from_scope(scope: Scope) -> str:
    """Bearer token, else session cookie, else client IP (``X-Forwarded-For`` is ignored: it is spoofable)."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer ") and len(auth) > 7:
        return "token:" + auth[7:].strip()
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return "cookie:" + value
    client = scope.get("client") or ("unknown", 0)
    return "ip:" + str(client[0])


def _json_response(
    status: int, body: dict[str, Any], extra_headers: Iterable[tuple[bytes, bytes]] = ()
) -> tuple:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
        *extra_headers,
    ]
    return {"type": "http.response.start", "status": status, "headers": headers}, {
        "type": "http.response.body",
        "body": payload,
    }


class LimitMiddleware:
    """ASGI middleware: 413 for bodies over ``max_body_bytes``, 429 + Retry-After over the session rate limit.

    Mount with ``app.add_middleware(LimitMiddleware, settings=settings)`` on FastAPI/Starlette, or wrap any
    ASGI app: ``LimitMiddleware(app, settings=settings)``.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        limiter: SlidingWindowLimiter | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        exempt_prefixes: Iterable[str] = DEFAULT_EXEMPT_PREFIXES,
        limited_prefixes: Iterable[str] | None = None,
    ) -> None:
        self.app = app
        self.limiter = limiter or shared_limiter(settings)
        self.max_body_bytes = max_body_bytes
        self.exempt_prefixes = tuple(exempt_prefixes)
        self.limited_prefixes = tuple(limited_prefixes) if limited_prefixes is not None else None

    def _is_limited(self, path: str) -> bool:
        if path.startswith(self.exempt_prefixes):
            return False
        return self.limited_prefixes is None or path.startswith(self.limited_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._send_too_large(send)
            return
        if self._is_limited(scope.get("path", "")):
            decision = self.limiter.check(session_key_from_scope(scope))
            if not decision.allowed:
                retry = max(1, math.ceil(decision.retry_after_s))
                start, body = _json_response(
                    429,
                    {
                        "error": "rate_limited",
                        "retry_after_s": retry,
                        "message_en": f"Too many requests. Please try again in {retry} s.",
                        "message_zh": f"请求过于频繁，请 {retry} 秒后再试。",
                    },
                    [(b"retry-after", str(retry).encode())],
                )
                await send(start)
                await send(body)
                return

        received = 0
        response_started = False
        rejected = False  # we answered 413 ourselves; the app is told the client left

        async def limited_receive() -> Message:
            nonlocal received, rejected, response_started
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message.get("type") == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    rejected = True
                    if not response_started:
                        response_started = True
                        await self._send_too_large(send)
                    # frameworks turn exceptions raised here into 400s; a disconnect just stops the handler
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if rejected:
                return  # the client already has its 413
            if message.get("type") == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not rejected:
                raise
            # the app failed on the disconnect we fed it after answering 413: nothing more to do

    async def _send_too_large(self, send: Send) -> None:
        start, body = _json_response(
            413,
            {
                "error": "request_too_large",
                "max_bytes": self.max_body_bytes,
                "message_en": f"Request body too large (limit {self.max_body_bytes} bytes).",
                "message_zh": f"请求内容过大（上限 {self.max_body_bytes} 字节）。",
            },
        )
        await send(start)
        await send(body)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
