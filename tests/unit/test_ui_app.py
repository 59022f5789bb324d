"""The FastAPI app wiring, in-process (no browser): limits by path, JSON errors, health, routes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from domain.privacy.staff_auth import hash_password
from evals.live_server import shop_settings
from ui.app import PAGE_MAX_BODY_BYTES, create_app

STAFF = ("alice", "a-long-staff-passphrase")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data_dir: Path = tmp_path_factory.mktemp("app") / "data"
    settings = shop_settings(data_dir, staff_users=f"{STAFF[0]}:{hash_password(STAFF[1])}")
    return TestClient(create_app(settings))


def test_api_bodies_are_capped_but_page_events_may_carry_a_long_chat(client: TestClient) -> None:
    json_header = {"content-type": "application/json"}
    too_big_for_api = client.post("/api/v1/chat", content=b"x" * 70_000, headers=json_header)
    assert too_big_for_api.status_code == 413 and too_big_for_api.json()["error"] == "request_too_large"
    # a Gradio event posting a long conversation is not refused for its size (it is just not valid here)
    assert (
        client.post("/gradio_api/queue/join", content=b"x" * 70_000, headers=json_header).status_code != 413
    )
    huge = client.post(
        "/gradio_api/queue/join", content=b"x" * (PAGE_MAX_BODY_BYTES + 1), headers=json_header
    )
    assert huge.status_code == 413


def test_unknown_api_routes_and_bad_bodies_get_json_errors(client: TestClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json() == {
        "error": "unknown API route",
        "detail": "/api/v1/no-such-thing",
    }
    anonymous = client.post("/api/v1/chat", json={"message": "hi"})
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"


def test_health_is_degraded_until_the_index_is_built_and_only_staff_see_why(client: TestClient) -> None:
    anonymous = client.get("/healthz")
    assert anonymous.status_code == 503 and anonymous.json() == {"status": "degraded"}
    response = client.get("/healthz", auth=STAFF)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["store"]["ok"] and not body["index"]["built"]
    assert client.get("/healthz", auth=(STAFF[0], "wrong")).status_code == 401


def test_demo_surfaces_exist_only_in_demo_mode_on_the_demo_store(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/widget-demo").status_code == 404  # production mode: no page handing out tokens
    with pytest.raises(ValueError, match="demo shop"):
        create_app(shop_settings(tmp_path / "data"), demo=True)  # not the demo shop's store


def test_every_surface_is_routed(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {"/api/v1/chat", "/api/v1/chat/stream", "/api/v1/feedback", "/api/v1/session", "/healthz"} <= paths
    assert client.get("/widget.js").headers["content-type"].startswith("application/javascript")
    assert client.get("/embed").status_code == 401  # no token, no chat
    assert client.get("/").status_code == 200 and client.get("/staff/").status_code == 200
