"""The shopper chat at / in headless Chromium against a live `shopguide serve` (llm=none)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from domain.store.db import get_engine
from domain.store.schema import feedback

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TURN_TIMEOUT_MS = 180_000  # the first turn loads the index and the embedder in the server

# Records every distinct text of the assistant side while a turn streams in.
WATCH_STREAM_JS = """
() => {
  window.__botStates = [];
  const chat = document.querySelector('#sg-chat');
  const record = () => {
    const text = Array.from(chat.querySelectorAll('.bot-row')).map(r => r.innerText).join('\\n');
    const states = window.__botStates;
    if (text && states[states.length - 1] !== text) states.push(text);
  };
  new MutationObserver(record).observe(chat, {subtree: true, childList: true, characterData: true});
}
"""


def open_chat(new_page, url: str, **viewport):  # type: ignore[no-untyped-def]
    page = new_page(**viewport)
    page.goto(url + "/", wait_until="load")
    page.wait_for_selector("#sg-input textarea")
    # the demo picker is filled by the page's load event: wait until a shopper is chosen
    page.wait_for_function(
        "() => { const i = document.querySelector('#sg-user input'); return i && i.value && i.value.length > 0; }"
    )
    return page


def send(page, text: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#sg-input textarea", text)
    page.click("#sg-send")


def test_shopper_sees_a_streamed_reply_with_product_cards(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_page, live_server.url)
    page.evaluate(WATCH_STREAM_JS)
    send(page, "Recommend running shoes under 500")

    page.wait_for_selector("#sg-cards .sg-card", timeout=TURN_TIMEOUT_MS)
    page.wait_for_function(
        "() => !document.querySelector('#sg-chat .bot-row:last-child')?.innerText.trim().endsWith('…')"
    )
    reply = page.locator("#sg-chat .bot-row").last.inner_text()
    assert "¥" in reply, reply  # the reply names prices
    # the tool step is shown as a collapsible thinking box with a readable title
    assert page.locator("#sg-chat .thought-group").count() >= 1
    assert re.search(
        r"recommend|search|product", page.locator("#sg-chat .thought-group").first.inner_text(), re.I
    )
    # the reply arrived in several renders (placeholder / steps first, then the text), not in one piece
    states = page.evaluate("window.__botStates")
    assert len(states) >= 2, states
    assert "¥" not in states[0]

    cards = page.locator("#sg-cards .sg-card")
    assert cards.count() >= 1
    first = cards.first
    assert first.locator(".sg-title").inner_text().strip()
    price = float(first.locator(".sg-price").inner_text().split("¥")[1].split()[0].replace(",", ""))
    assert 0 < price <= 500  # the budget was respected
    assert first.locator(".sg-img").count() == 1  # image placeholder

    # a card opens the product details
    first.click()
    page.wait_for_selector("#sg-details .sg-details h3")
    assert (
        page.locator("#sg-details .sg-details h3").inner_text().strip()
        == first.locator(".sg-title").inner_text().strip()
    )


def test_like_is_stored_as_feedback(live_server, new_page, server_settings) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_page, live_server.url)
    shopper = page.locator("#sg-user input").input_value().split(" · ")[0]
    send(page, "推荐一款 800 元以内的耳机")
    page.wait_for_selector("#sg-cards .sg-card", timeout=TURN_TIMEOUT_MS)
    page.locator("#sg-chat button[aria-label='Like']").last.click()
    page.wait_for_timeout(1500)

    engine = get_engine(server_settings)
    with engine.connect() as conn:
        rows = conn.execute(select(feedback).where(feedback.c.user_id == shopper)).mappings().all()
    assert rows, "the like was not stored"
    assert rows[-1]["liked"] is True
    assert rows[-1]["thread_id"].startswith(f"user:{shopper}/")
    assert rows[-1]["message"]


def test_clear_starts_a_new_conversation(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_page, live_server.url)
    send(page, "Compare your two best-rated coffee makers")
    page.wait_for_selector("#sg-chat .bot-row", timeout=TURN_TIMEOUT_MS)
    page.click("#sg-clear")  # the reply may still be streaming: Clear cancels it
    page.wait_for_function("() => document.querySelectorAll('#sg-chat .bot-row').length === 0")
    assert page.locator("#sg-cards .sg-card").count() == 0
    send(page, "hello")
    page.wait_for_selector("#sg-chat .bot-row", timeout=TURN_TIMEOUT_MS)
    page.wait_for_timeout(2_000)  # long enough for a turn that was not cancelled to write itself back
    assert "coffee makers" not in page.locator("#sg-chat").inner_text()


def test_phone_sized_screen(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_page, live_server.url, width=390, height=844, locale="zh-CN")
    # the page follows the browser language
    page.wait_for_function("() => document.querySelector('#sg-header')?.innerText.includes('智能导购')")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"horizontal overflow of {overflow}px on a phone"
    send(page, "推荐一双 500 元以内的跑鞋")
    page.wait_for_selector("#sg-cards .sg-card", timeout=TURN_TIMEOUT_MS)
    box = page.locator("#sg-cards .sg-card").first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.locator("#sg-send").is_visible()


def test_language_switch_relabels_the_page(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_page, live_server.url, locale="en-US")
    assert "shopping assistant" in page.locator("#sg-header").inner_text()
    page.locator("#sg-lang").get_by_text("中文").click()
    page.wait_for_function("() => document.querySelector('#sg-header').innerText.includes('智能导购')")
    assert page.locator("#sg-send").inner_text().strip() == "发送"


def test_retry_asks_the_last_question_again(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = open_chat(new_page, live_server.url)
    page.evaluate(WATCH_STREAM_JS)
    send(page, "Recommend headphones under 800")
    page.wait_for_selector("#sg-cards .sg-card", timeout=TURN_TIMEOUT_MS)
    page.wait_for_function("() => window.__botStates.some(s => s.includes('¥'))")
    page.evaluate("window.__botStates = []")
    page.click("#sg-retry")
    # a new turn ran (placeholder then a full reply again) ...
    page.wait_for_function(
        "() => window.__botStates.some(s => s.trim().endsWith('…')) &&"
        " window.__botStates[window.__botStates.length - 1].includes('¥')",
        timeout=TURN_TIMEOUT_MS,
    )
    # ... in place of the old one: still one question and one answer on screen
    assert page.locator("#sg-chat .user-row").count() == 1
    assert "Recommend headphones under 800" in page.locator("#sg-chat .user-row").inner_text()


def test_a_widget_token_on_the_page_sets_the_shopper(live_server, new_page, server_settings) -> None:  # type: ignore[no-untyped-def]
    from domain.privacy.tokens import issue_widget_token
    from ui.services import UiContext

    shopper = UiContext(server_settings).demo_users(3)[-1][1]
    page = new_page()
    page.goto(
        f"{live_server.url}/?token={issue_widget_token(server_settings, shopper, ttl_s=600)}",
        wait_until="load",
    )
    page.wait_for_selector("#sg-input textarea")
    page.wait_for_timeout(1500)
    assert page.locator("#sg-user").is_hidden()  # no picker: the token decides who this is
    send(page, "Recommend headphones under 800")
    page.wait_for_selector("#sg-cards .sg-card", timeout=TURN_TIMEOUT_MS)
    page.locator("#sg-chat button[aria-label='Dislike']").last.click()
    page.wait_for_timeout(1500)
    with get_engine(server_settings).connect() as conn:
        votes = conn.execute(
            select(feedback.c.user_id, feedback.c.liked).where(feedback.c.user_id == shopper)
        ).all()
    assert (shopper, False) in [tuple(v) for v in votes]

    refused = new_page()
    refused.goto(f"{live_server.url}/?token=forged", wait_until="load")
    refused.wait_for_selector("#sg-notice .sg-error")
    assert "invalid or has expired" in refused.locator("#sg-notice").inner_text()
    assert refused.locator("#sg-user").is_hidden()
