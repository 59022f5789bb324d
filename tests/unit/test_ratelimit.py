"""Rate and size limits: sliding window per session, 429 + Retry-After and 413 through a real FastAPI app."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from domain.privacy.ratelimit import (
    LimitMiddleware,
    RateLimited,
    SlidingWindowLimiter,
    check,
    enforce,
    session_key_from_scope,
)
from domain.settings import Settings


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_allows_the_limit_then_refuses_with_retry_after() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, 60, clock=clock)
    assert [limiter.check("s1").allowed for _ in range(3)] == [True, True, True]
    clock.now += 20
    refused = limiter.check("s1")
    assert not refused.allowed
    assert refused.retry_after_s == pytest.approx(40)  # the oldest event leaves the window in 40 s
    assert limiter.check("s2").allowed  # another session is unaffected
    clock.now += 40.001
    assert limiter.check("s1").allowed  # the window slid past the first three events...
    assert limiter.check("s1").allowed
    assert limiter.check("s1").allowed
    assert not limiter.check("s1").allowed  # ...and refused events were never counted


def test_tracked_sessions_are_bounded() -> None:
    limiter = SlidingWindowLimiter(1, 60, max_keys=100, clock=FakeClock())
    for i in range(1000):
        limiter.check(f"session-{i}")
    assert len(limiter._events) == 100
    assert limiter.check("session-999").allowed is False  # the most recent ones are still tracked


def test_concurrent_checks_never_exceed_the_limit() -> None:
    limiter = SlidingWindowLimiter(50, 60)
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(100):
            ok = limiter.check("shared").allowed
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50 and len(allowed) == 800


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        SlidingWindowLimiter(0)
    with pytest.raises(ValueError):
        SlidingWindowLimiter(5, 0)


def test_chat_path_check_and_enforce_use_the_configured_rate(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm="none", rate_limit_per_minute=2)
    key = f"chat-{tmp_path.name}"
    assert check(key, settings).allowed
    enforce(key, settings)
    with pytest.raises(RateLimited) as err:
        enforce(key, settings)
    assert 0 < err.value.retry_after_s <= 60


def test_session_key_prefers_token_then_cookie_then_ip() -> None:
    base = {"type": "http", "client": ("10.0.0.7", 5555)}
    assert session_key_from_scope({**base, "headers": [(b"authorization", b"Bearer abc")]}) == "token:abc"
    cookie = [(b"cookie", b"theme=dark; shopguide_session=xyz")]
    assert session_key_from_scope({**base, "headers": cookie}) == "cookie:xyz"
    spoof = [(b"x-forwarded-for", b"1.2.3.4")]
    assert session_key_from_scope({**base, "headers": spoof}) == "ip:10.0.0.7"


def _app(limit: int, max_body: int) -> FastAPI:
    app = FastAPI()

    @app.post("/api/chat")
    async def chat(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    @app.get("/assets/app.js")
    async def asset() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(LimitMiddleware, limiter=SlidingWindowLimiter(limit, 60), max_body_bytes=max_body)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(limit=3, max_body=1000), client=("127.0.0.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_http_rate_limit_answers_429_with_retry_after(client: httpx.AsyncClient) -> None:
    codes = [(await client.post("/api/chat", content=b"hi")).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    refused = await client.post("/api/chat", content=b"hi")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    body = refused.json()
    assert body["error"] == "rate_limited" and "请求过于频繁" in body["message_zh"]
    # another widget session (another token) and page assets are not throttled
    other = await client.post("/api/chat", content=b"hi", headers={"Authorization": "Bearer t2"})
    assert other.status_code == 200
    assert (await client.get("/assets/app.js")).status_code == 200


async def test_declared_oversized_body_gets_413_and_the_app_is_not_called(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", content=b"x" * 1001)
    assert response.status_code == 413
    assert response.json()["max_bytes"] == 1000
    at_limit = await client.post("/api/chat", content=b"x" * 1000)
    assert at_limit.status_code == 200 and at_limit.json() == {"received": 1000}


async def test_streamed_oversized_body_without_length_gets_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"y" * 300

    response = await client.post("/api/chat", content=chunks())
    assert response.status_code == 413
    assert "content-length" not in {k.lower() for k in response.request.headers}
    # the server keeps answering normal requests
    assert (await client.post("/api/chat", content=b"ok")).status_code == 200
