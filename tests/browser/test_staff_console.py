"""The staff console at /staff in headless Chromium: login, lookup, value card + chart, dashboard, export."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from sqlalchemy import select

from domain.i18n import segment_label
from domain.store.db import get_engine
from domain.store.schema import audit_log, value_assessments

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOOKUP_TIMEOUT_MS = 180_000
STAFF = ("staff", "staff-demo-password")  # the demo account (the live server runs `serve --demo`)


def login(new_page, url: str, password: str = STAFF[1], **viewport):  # type: ignore[no-untyped-def]
    page = new_page(**viewport)
    page.goto(url + "/staff/", wait_until="load")
    page.fill("input[type=text]", STAFF[0])
    page.fill("input[type=password]", password)
    page.keyboard.press("Enter")
    return page


def look_up(page, query: str) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#sg-lookup-query textarea, #sg-lookup-query input")
    page.fill("#sg-lookup-query textarea, #sg-lookup-query input", query)
    page.click("#sg-lookup-btn")


def test_console_requires_a_staff_login(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = login(new_page, live_server.url, password="wrong-password")
    page.wait_for_timeout(1500)
    assert page.locator("#sg-lookup-query").count() == 0  # still on the login form
    assert page.locator("input[type=password]").is_visible()
    # and the console's event API is closed to anonymous callers too
    assert httpx.get(live_server.url + "/staff/config", timeout=10).status_code in (401, 403)


def test_staff_look_up_a_user_and_see_the_value_card_and_its_chart(  # type: ignore[no-untyped-def]
    live_server, new_page, server_settings, demo_user_id
) -> None:
    page = login(new_page, live_server.url)
    look_up(page, demo_user_id)
    page.wait_for_selector("#sg-value-card .sg-vcard", timeout=LOOKUP_TIMEOUT_MS)

    card = page.locator("#sg-value-card").inner_text()
    with get_engine(server_settings).connect() as conn:
        stored = (
            conn.execute(select(value_assessments).where(value_assessments.c.user_id == demo_user_id))
            .mappings()
            .one()
        )
    assert f"{stored['score']:.0f}" in card  # the score shown is the user's score
    for label in ("Value score", "Segment", "Predicted 12-month spend", "P(alive)", "Price sensitivity"):
        assert label in card
    # the contribution chart is a rendered plot (matplotlib image), not a table
    page.wait_for_selector("#sg-reasons-chart .matplotlib img")
    chart = page.locator("#sg-reasons-chart .matplotlib img").bounding_box()
    assert chart is not None and chart["width"] > 200 and chart["height"] > 100
    # profile, timeline and what to recommend are filled
    assert page.locator("#sg-profile .sg-profile").inner_text().strip()
    assert page.locator("#sg-recs .sg-card").count() >= 1
    assert page.locator("#sg-user-head").inner_text().strip().startswith("👤")
    # the lookup was audited under the signed-in staff name
    with get_engine(server_settings).connect() as conn:
        actions = (
            conn.execute(
                select(audit_log.c.action).where(
                    audit_log.c.subject_user_id == demo_user_id, audit_log.c.actor == "staff"
                )
            )
            .scalars()
            .all()
        )
    assert "staff_console_value_card" in actions


def test_lookup_by_email_finds_the_same_user(live_server, new_page, server_settings) -> None:  # type: ignore[no-untyped-def]
    with (server_settings.data_dir / "demo" / "users.csv").open(encoding="utf-8") as fh:
        row = next(r for r in csv.DictReader(fh) if r["email"])
    page = login(new_page, live_server.url)
    look_up(page, row["email"].upper())  # contact lookups are case-insensitive
    page.wait_for_selector("#sg-value-card .sg-vcard, #sg-value-card .sg-error", timeout=LOOKUP_TIMEOUT_MS)
    head = page.locator("#sg-user-head").inner_text()
    assert row["user_id"] in head
    assert row["email"] not in head  # staff see the masked form only


def test_unknown_user_gets_a_clear_message(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = login(new_page, live_server.url)
    look_up(page, "nobody@example.invalid")
    page.wait_for_selector("#sg-value-card .sg-error")
    assert "No matching user" in page.locator("#sg-value-card").inner_text()


def test_segment_dashboard_and_campaign_export(live_server, new_page) -> None:  # type: ignore[no-untyped-def]
    page = login(new_page, live_server.url)
    page.wait_for_selector("#sg-lookup-query")
    page.get_by_role("tab", name="Segments").click()
    page.wait_for_selector("#sg-seg-table [data-testid='cell-0-0']", timeout=LOOKUP_TIMEOUT_MS)
    segments = page.locator("#sg-seg-table [role='gridcell'][data-col='0']").all_inner_texts()
    assert len(segments) >= 2 and segment_label("vip", "en") in segments, segments  # labels, not raw codes
    # the sizes and the value distribution are drawn as charts (Vega renders SVG marks)
    page.wait_for_selector("#sg-seg-sizes svg.marks")
    page.wait_for_selector("#sg-seg-dist svg.marks")

    page.click("#sg-export-btn")
    link = page.locator("#sg-export-file a").first
    link.wait_for(timeout=60_000)
    href = link.get_attribute("href")
    assert href and href.startswith("/staff/exports/") and "campaign-vip" in link.inner_text()
    url = live_server.url + href
    assert httpx.get(url, timeout=30).status_code == 404  # not without the maker's session
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(cookies=cookies, timeout=30) as session:
        body = session.get(url).text
        assert session.get(url).status_code == 404  # a one-time download
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows, "the export is empty"
    assert {"user_id", "score", "offer_en", "offer_zh"} <= set(rows[0])
    assert all("*" in (r.get("phone") or "*") for r in rows)  # masked contacts by default
