"""Rate and size limits: a moving window per server-known key (``limits``), bounded memory that a key flood
cannot reset, the client address behind trusted proxies only, and 413 through a real FastAPI app."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request

from domain.privacy.ratelimit import (
    BodyLimitMiddleware,
    RateLimited,
    RateLimiter,
    client_address,
    enforce,
)
from domain.settings import Settings


def test_window_allows_the_limit_then_refuses_with_retry_after_and_slides() -> None:
    limiter = RateLimiter(3, 2)
    assert [limiter.check("s1").allowed for _ in range(3)] == [True, True, True]
    refused = limiter.check("s1")
    assert not refused.allowed and 0 < refused.retry_after_s <= 2
    assert limiter.check("s2").allowed  # another caller is unaffected
    time.sleep(2.1)
    assert [limiter.check("s1").allowed for _ in range(4)] == [True, True, True, False]


def test_would_allow_tells_without_counting() -> None:
    limiter = RateLimiter(2, 60)
    assert limiter.would_allow("fresh") and limiter.tracked_keys == 0
    limiter.check("k")
    assert limiter.would_allow("k") and limiter.would_allow("k")  # asking twice counts nothing
    limiter.check("k")
    assert not limiter.would_allow("k")


def test_a_key_flood_neither_grows_memory_nor_resets_a_counter() -> None:
    limiter = RateLimiter(2, 60, max_keys=100)
    assert limiter.check("attacker").allowed and limiter.check("attacker").allowed
    assert not limiter.check("attacker").allowed
    for i in range(1000):  # fresh keys: the table is full, they share the overflow bucket
        limiter.check(f"flood-{i}")
    assert limiter.tracked_keys <= 101
    assert not limiter.check("attacker").allowed  # still limited: its counter was not evicted
    assert not limiter.check("flood-999").allowed  # the flood itself is limited, as one bucket


def test_concurrent_checks_never_exceed_the_limit() -> None:
    limiter = RateLimiter(50, 60)
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
        RateLimiter(0)
    with pytest.raises(ValueError):
        RateLimiter(5, 0)


def test_enforce_uses_the_configured_rate_and_raises_the_one_rate_limited(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, llm="none", rate_limit_per_minute=2)
    key = f"chat-{tmp_path.name}"
    enforce(key, settings)
    enforce(key, settings)
    with pytest.raises(RateLimited) as err:
        enforce(key, settings)
    assert 0 < err.value.retry_after_s <= 60


def test_client_address_believes_forwarded_for_only_from_trusted_proxies() -> None:
    # no trusted proxy: the header is the client's own words
    assert client_address("10.0.0.7", "1.2.3.4", []) == "10.0.0.7"
    # a peer that is not a trusted proxy: same
    assert client_address("10.0.0.7", "1.2.3.4", ["192.168.0.0/16"]) == "10.0.0.7"
    # through a trusted proxy: the right-most hop it did not write itself; spoofed entries on the left lose
    assert client_address("192.168.1.2", "6.6.6.6, 1.2.3.4", ["192.168.0.0/16"]) == "1.2.3.4"
    chain = "6.6.6.6, 1.2.3.4, 192.168.1.9"
    assert client_address("192.168.1.2", chain, ["192.168.0.0/16"]) == "1.2.3.4"
    assert client_address("192.168.1.2", None, ["192.168.0.0/16"]) == "192.168.1.2"
    assert client_address("192.168.1.2", "not-an-ip", ["bad-cidr", "192.168.0.0/16"]) == "not-an-ip"


def _app(max_body: int) -> FastAPI:
    app = FastAPI()

    @app.post("/api/chat")
    async def chat(request: Request) -> dict[str, int]:
        return {"received": len(await request.body())}

    app.add_middleware(BodyLimitMiddleware, max_body_bytes=max_body)
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(max_body=1000), client=("127.0.0.1", 1234))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


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
