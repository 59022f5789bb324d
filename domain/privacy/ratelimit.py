"""Abuse limits: a per-caller rate limiter (moving window, on the ``limits`` library) and an ASGI middleware
that caps request bodies.

Rate-limit keys are what the server knows, never what the client chooses: the authenticated principal
(``user:u000123``, a staff name) or else the client address (:func:`client_address`, which believes
``X-Forwarded-For`` only from ``settings.trusted_proxies``). Keys are hashed before they are kept. Memory is
bounded: at most ``max_keys`` distinct keys are tracked per window, and beyond that new keys share one overflow
bucket, so a flood of new keys neither grows memory nor evicts (resets) anyone's counter.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel

from domain.settings import Settings, get_settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 64 * 1024
OVERFLOW_KEY = "overflow"


class RateDecision(BaseModel):
    allowed: bool
    remaining: int
    retry_after_s: float = 0.0


class RateLimited(RuntimeError):
    """Over the rate limit; the one exception every layer raises and catches for it."""

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"too many requests: retry after {math.ceil(retry_after_s)} s")
        self.retry_after_s = retry_after_s


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds for each key (moving window). Thread-safe."""

    def __init__(self, limit: int, window_s: int = 60, *, max_keys: int = 50_000) -> None:
        if limit < 1 or window_s < 1:
            raise ValueError("limit must be >= 1 and window_s >= 1")
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._item = RateLimitItemPerSecond(limit, window_s)
        self._storage = MemoryStorage()
        self._strategy = MovingWindowRateLimiter(self._storage)
        self._last_hit: dict[str, float] = {}  # hashed key -> monotonic time of its last event
        self._lock = threading.Lock()

    @property
    def tracked_keys(self) -> int:
        return len(self._last_hit)

    @staticmethod
    def _hash(key: str) -> str:
        return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=16).hexdigest()

    def would_allow(self, key: str) -> bool:
        """Whether one more event for ``key`` fits, without counting it (to refuse before costly work)."""
        hashed = self._hash(key)
        with self._lock:
            return hashed not in self._last_hit or self._strategy.test(self._item, hashed)

    def _slot(self, key: str) -> str:
        """The hashed key, or the overflow bucket when the table is full of keys still inside their window."""
        hashed = self._hash(key)
        now = time.monotonic()
        if hashed not in self._last_hit and len(self._last_hit) >= self.max_keys:
            horizon = now - self.window_s
            for stale in [k for k, seen in self._last_hit.items() if seen <= horizon]:
                del self._last_hit[stale]  # its window is over: nothing of it is left to reset
            if len(self._last_hit) >= self.max_keys:
                hashed = OVERFLOW_KEY
        self._last_hit[hashed] = now
        return hashed

    def check(self, key: str, *, cost: int = 1) -> RateDecision:
        """Count ``cost`` events for ``key`` if they fit in the window; refused events are not counted."""
        with self._lock:
            slot = self._slot(key)
            allowed = self._strategy.hit(self._item, slot, cost=cost)
            stats = self._strategy.get_window_stats(self._item, slot)
        retry = 0.0 if allowed else max(0.001, stats.reset_time - time.time())
        return RateDecision(allowed=allowed, remaining=stats.remaining, retry_after_s=retry)

    def enforce(self, key: str, *, cost: int = 1) -> None:
        decision = self.check(key, cost=cost)
        if not decision.allowed:
            raise RateLimited(decision.retry_after_s)

    def reset(self) -> None:
        with self._lock:
            self._storage.reset()
            self._last_hit.clear()


_shared: dict[tuple[int, int], RateLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(settings: Settings | None = None, *, window_s: int = 60) -> RateLimiter:
    """The process-wide limiter for ``settings.rate_limit_per_minute`` (HTTP API and chat share it)."""
    settings = settings or get_settings()
    key = (settings.rate_limit_per_minute, window_s)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = RateLimiter(settings.rate_limit_per_minute, window_s)
        return _shared[key]


def enforce(key: str, settings: Settings | None = None) -> None:
    """Count one request or chat turn for ``key``; raises ``RateLimited`` when over the limit."""
    shared_limiter(settings).enforce(key)


def in_networks(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: Iterable[str]) -> str:
    """The client's address: the TCP peer, unless the peer is a trusted proxy; then the right-most
    ``X-Forwarded-For`` entry that is not a trusted proxy (entries left of it are client-written)."""
    trusted = list(trusted_proxies)
    address = peer or "unknown"
    if not trusted or not in_networks(address, trusted):
        return address
    for hop in reversed([h.strip() for h in (forwarded_for or "").split(",") if h.strip()]):
        if not in_networks(hop, trusted):
            return hop
    return address


def scope_client_address(scope: Scope, trusted_proxies: Iterable[str]) -> str:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    peer = (scope.get("client") or ("unknown", 0))[0]
    return client_address(str(peer), headers.get("x-forwarded-for"), trusted_proxies)


def _json_response(status: int, body: dict[str, Any]) -> tuple[Message, Message]:
    payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
    headers = [
        (b"content-type", b"application/json; charset=utf-8"),
        (b"content-length", str(len(payload)).encode()),
    ]
    return {"type": "http.response.start", "status": status, "headers": headers}, {
        "type": "http.response.body",
        "body": payload,
    }


class BodyLimitMiddleware:
    """ASGI middleware: 413 for request bodies over ``max_body_bytes``, whether announced or streamed."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._send_too_large(send)
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
