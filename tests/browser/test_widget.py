"""The embeddable widget in headless Chromium: the demo shop opens the panel and chats; bad tokens are refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.privacy.tokens import issue_widget_token

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TURN_TIMEOUT_MS = 180_000


def tamper(token: str, new_subject: str = "u000002") -> str:
    """Swap the user id in the claims but keep the signature: a browser trying to become another shopper."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = new_subject if claims["sub"] != new_subject else "u000003"
    forged = (
        base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    )
    return f"{header}.{forged}.{signature}"


def test_widget_demo_opens_the_panel_and_chats(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto(live_server.url + "/widget-demo", wait_until="load")
    assert page.locator(".tile").count() >= 4  # a small shop with product tiles from the catalog
    assert page.locator("#shopguide-panel").is_hidden()

    page.click("#shopguide-launcher")
    assert page.locator("#shopguide-panel").is_visible()
    frame = page.frame_locator("#shopguide-frame")
    frame.locator("#sg-input").fill("Recommend headphones under 800")
    frame.locator("#sg-send").click()
    frame.locator(".sg-assistant .sg-card").first.wait_for(timeout=TURN_TIMEOUT_MS)
    reply = frame.locator(".sg-assistant .sg-text").last.inner_text()
    assert "¥" in reply
    assert frame.locator(".sg-assistant .sg-step").count() >= 1  # the tool step is shown

    # a follow-up keeps the same conversation (thread id kept in the panel's session)
    frame.locator("#sg-input").fill("Which one is the cheapest?")
    frame.locator("#sg-send").click()
    page.wait_for_function(
        "() => document.querySelector('#shopguide-frame').contentDocument.querySelectorAll('.sg-assistant .sg-feedback').length >= 2",
        timeout=TURN_TIMEOUT_MS,
    )
    # the close button hides the panel
    page.click("#shopguide-panel header button")
    assert page.locator("#shopguide-panel").is_hidden()


def test_tampered_widget_token_is_refused(live_server, new_page, server_settings, demo_user_id) -> None:  # type: ignore[no-untyped-def]
    bad = tamper(issue_widget_token(server_settings, demo_user_id, ttl_s=600))
    response = httpx.get(live_server.url + "/embed", params={"token": bad, "lang": "en"}, timeout=30)
    assert response.status_code == 401

    page = new_page()
    page.goto(f"{live_server.url}/embed?lang=en&token={bad}", wait_until="load")
    refusal = page.locator("#sg-refused")
    assert refusal.is_visible()
    assert "invalid or has expired" in refusal.inner_text()
    assert page.locator("#sg-input").count() == 0  # no chat for an untrusted token

    api = httpx.post(
        live_server.url + "/api/v1/chat",
        json={"message": "show me my orders"},
        headers={"Authorization": f"Bearer {bad}"},
        timeout=30,
    )
    assert api.status_code == 401
    assert "signature" in api.json()["detail"]


def test_expired_widget_token_is_refused(live_server, new_page, server_settings, demo_user_id) -> None:  # type: ignore[no-untyped-def]
    # issued an hour ago for ten minutes (well past the verifier's clock-skew leeway)
    token = issue_widget_token(
        server_settings, demo_user_id, ttl_s=600, now=datetime.now(UTC) - timedelta(hours=1)
    )
    page = new_page(locale="zh-CN")
    page.goto(f"{live_server.url}/embed?token={token}", wait_until="load")
    refusal = page.locator("#sg-refused")
    assert refusal.is_visible()
    assert "已过期" in refusal.inner_text()  # the message follows the browser language
    api = httpx.post(
        live_server.url + "/api/v1/chat/stream",
        json={"message": "hello"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert api.status_code == 401
    assert "expired" in api.json()["detail"]


def test_widget_panel_shows_the_refusal_for_a_bad_token(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    """A host page embedding a broken token: the panel opens and says so instead of chatting."""
    page = new_page()
    page.goto(live_server.url + "/widget-demo", wait_until="load")
    page.evaluate("window.ShopGuide.setToken('not-a-token'); window.ShopGuide.open()")
    frame = page.frame_locator("#shopguide-frame")
    frame.locator("#sg-refused").wait_for()
    assert "invalid or has expired" in frame.locator("#sg-refused").inner_text()
