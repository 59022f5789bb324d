"""The HTTP API of a live `shopguide serve` (llm=none): chat JSON and SSE, auth, clear 4xx for bad requests
(the server stays up), rate and size limits, health, and the named Gradio endpoint through gradio_client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from domain.privacy.tokens import issue_widget_token
from domain.settings import Settings
from evals.live_server import LiveServer, cached_demo_data, copy_data_dir, shop_settings

pytestmark = [pytest.mark.slow]

TURN_TIMEOUT_S = 180.0
STAFF_AUTH = ("staff", "staff-demo-password")


@pytest.fixture(scope="module")
def api_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """``shopguide serve`` over a copy of the small demo shop the browser tests use (same cache)."""
    workdir = tmp_path_factory.mktemp("live_api")
    cache = getattr(request.config, "cache", None)
    cache_root = Path(cache.mkdir("shopguide_live_shop")) if cache is not None else workdir / "build"
    server = LiveServer(copy_data_dir(cached_demo_data(cache_root), workdir / "data")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def settings(api_server: LiveServer) -> Settings:
    return shop_settings(api_server.data_dir)


@pytest.fixture(scope="module")
def shopper_id(settings: Settings) -> str:
    from ui.services import UiContext

    return UiContext(settings).demo_users(1)[0][1]


@pytest.fixture
def token(settings: Settings, shopper_id: str) -> str:
    return issue_widget_token(settings, shopper_id, ttl_s=600)


@pytest.fixture
def client(api_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_server.url, timeout=TURN_TIMEOUT_S) as http:
        yield http


def assert_clear_error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("error") or body.get("message_en"), body  # a readable reason, not a stack trace
    assert "Traceback" not in response.text
    return body


def test_chat_with_a_widget_token_returns_reply_and_products(client: httpx.Client, token: str) -> None:
    response = client.post(
        "/api/v1/chat",
        json={"message": "Recommend running shoes under 500"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["language"] == "en"
    assert body["reply"] and not body["error"]
    assert body["products"], "no product cards"
    assert all(p["price"] <= 500 for p in body["products"])
    assert body["tool_calls"] and body["tool_calls"][0]["tool"]
    # the thread continues: a follow-up on the same thread id is answered
    follow = client.post(
        "/api/v1/chat",
        json={"message": "Which one is the cheapest?", "thread_id": body["thread_id"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert follow.status_code == 200 and follow.json()["reply"]


def test_sse_stream_sends_events_in_order(client: httpx.Client, token: str) -> None:
    events: list[tuple[str, dict]] = []
    with client.stream(
        "POST",
        "/api/v1/chat/stream",
        json={"message": "推荐一款 800 元以内的耳机"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                events.append((kind, json.loads(line[6:])))
    kinds = [k for k, _ in events]
    assert kinds[0] == "session" and events[0][1]["thread_id"]
    assert kinds[-1] == "done"
    assert "token" in kinds and "tool_start" in kinds
    assert kinds.index("tool_start") < kinds.index("token")
    assert events[-1][1]["language"] == "zh"


def test_staff_basic_auth_is_accepted_and_wrong_password_refused(client: httpx.Client) -> None:
    assert client.get("/api/v1/session", auth=STAFF_AUTH).json() == {"user_id": None, "role": "staff"}
    body = assert_clear_error(client.get("/api/v1/session", auth=("staff", "nope")), 401)
    assert "password" in body["error"]


@pytest.mark.parametrize(
    ("name", "kwargs", "status", "needle"),
    [
        ("no auth", {"json": {"message": "hi"}}, 401, "authentication required"),
        (
            "malformed bearer",
            {"json": {"message": "hi"}, "headers": {"Authorization": "Bearer x.y.z"}},
            401,
            "token",
        ),
        (
            "malformed basic",
            {"json": {"message": "hi"}, "headers": {"Authorization": "Basic !!!"}},
            401,
            "basic",
        ),
    ],
)
def test_unauthenticated_requests_get_401(
    client: httpx.Client, name: str, kwargs: dict, status: int, needle: str
) -> None:
    body = assert_clear_error(client.post("/api/v1/chat", **kwargs), status)
    assert needle in json.dumps(body).lower(), name


def test_bad_requests_get_clear_4xx_and_the_server_stays_up(
    client: httpx.Client, api_server: LiveServer, token: str, settings: Settings
) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    # not JSON at all
    body = assert_clear_error(
        client.post(
            "/api/v1/chat", content=b"{not json", headers=auth | {"content-type": "application/json"}
        ),
        422,
    )
    assert "JSON" in json.dumps(body)
    # missing field, wrong type, empty message, unknown language
    body = assert_clear_error(client.post("/api/v1/chat", json={"text": "hi"}, headers=auth), 422)
    assert body["detail"][0]["field"] == "message"
    assert_clear_error(client.post("/api/v1/chat", json={"message": 42}, headers=auth), 422)
    assert_clear_error(client.post("/api/v1/chat", json={"message": ""}, headers=auth), 422)
    assert_clear_error(
        client.post("/api/v1/chat", json={"message": "hi", "language": "fr"}, headers=auth), 422
    )
    # blank or too long messages are refused with the limit named
    body = assert_clear_error(client.post("/api/v1/chat", json={"message": "   "}, headers=auth), 422)
    body = assert_clear_error(
        client.post("/api/v1/chat", json={"message": "x" * (settings.max_message_chars + 1)}, headers=auth),
        422,
    )
    assert str(settings.max_message_chars) in body["detail"]
    # a thread id that is too long, a negative feedback index
    assert_clear_error(
        client.post("/api/v1/chat", json={"message": "hi", "thread_id": "t" * 200}, headers=auth), 422
    )
    assert_clear_error(
        client.post(
            "/api/v1/feedback", json={"thread_id": "t", "message_index": -1, "liked": True}, headers=auth
        ),
        422,
    )
    # a body over the size limit: 413 before it is read
    assert_clear_error(client.post("/api/v1/chat", json={"message": "y" * 200_000}, headers=auth), 413)
    # unknown product, unknown route
    assert_clear_error(client.get("/api/v1/products/does-not-exist"), 404)
    assert_clear_error(client.get("/api/v1/nothing-here"), 404)

    # after all that, the server is alive and still answers a real turn
    assert api_server.alive()
    assert client.get("/healthz").json()["status"] == "ok"
    ok = client.post("/api/v1/chat", json={"message": "Recommend headphones under 800"}, headers=auth)
    assert ok.status_code == 200 and ok.json()["products"]


def test_expired_and_tampered_tokens_get_401(
    client: httpx.Client, settings: Settings, shopper_id: str
) -> None:
    expired = issue_widget_token(settings, shopper_id, ttl_s=600, now=datetime.now(UTC) - timedelta(hours=1))
    body = assert_clear_error(
        client.post("/api/v1/chat", json={"message": "hi"}, headers={"Authorization": f"Bearer {expired}"}),
        401,
    )
    assert "expired" in body["detail"]
    other_secret = issue_widget_token(
        shop_settings(settings.data_dir, token_secret="another-secret-0123456789-abcdefghijklmnop"),
        shopper_id,
    )
    body = assert_clear_error(
        client.post(
            "/api/v1/chat", json={"message": "hi"}, headers={"Authorization": f"Bearer {other_secret}"}
        ),
        401,
    )
    assert "signature" in body["detail"]


def test_rate_limit_answers_429_with_retry_after(client: httpx.Client, settings: Settings) -> None:
    from ui.services import UiContext

    # the limit is per shopper (any token of theirs), so another shopper than the other tests' one
    other_shopper = UiContext(settings).demo_users(2)[1][1]
    fresh = issue_widget_token(settings, other_shopper, ttl_s=600)
    statuses = [
        client.get("/api/v1/session", headers={"Authorization": f"Bearer {fresh}"}).status_code
        for _ in range(settings.rate_limit_per_minute + 2)
    ]
    assert statuses[0] == 200
    assert statuses[-1] == 429
    limited = client.get("/api/v1/session", headers={"Authorization": f"Bearer {fresh}"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # other callers are not affected
    assert client.get("/api/v1/session", auth=STAFF_AUTH).status_code == 200


def test_health_and_openapi(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}  # anonymous callers learn nothing more
    health = client.get("/healthz", auth=STAFF_AUTH).json()
    assert health["status"] == "ok"
    assert (
        health["store"]["products"] > 0 and health["index"]["built"] and health["llm"]["provider"] == "none"
    )
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/chat", "/api/v1/chat/stream", "/healthz"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200


def test_gradio_client_uses_the_named_endpoint(api_server: LiveServer, token: str) -> None:
    from gradio_client import Client

    gradio = Client(api_server.url + "/", verbose=False)
    result = gradio.predict("Recommend headphones under 800", token, "", api_name="/chat")
    assert result["reply"] and result["products"] and result["thread_id"]
    with pytest.raises(Exception, match="token"):
        gradio.predict("hello", "forged-token", "", api_name="/chat")
