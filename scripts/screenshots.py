"""Take the README screenshots of the three surfaces (shopper chat, staff console, widget) in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--data-dir DIR] [--out docs/screenshots]

Without ``--data-dir`` a demo shop is built (or reused from ``--cache``) and served by a real ``shopguide serve``
on 127.0.0.1 with ``llm=none``; with it, that data dir (already set up with ``shopguide setup``) is served.
Needs Debian's Chromium (``apt-get install chromium``; fonts-wqy-microhei and fonts-noto-color-emoji make the
Chinese text and emoji render).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.live_server import LiveServer, cached_demo_data, copy_data_dir  # noqa: E402

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TURN_MS = 180_000


def shopper(browser, url: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="en-US", device_scale_factor=1)
    page.goto(url + "/", wait_until="load")
    page.wait_for_function("() => document.querySelector('#sg-user input')?.value")
    page.fill("#sg-input textarea", "Recommend running shoes under 500")
    page.click("#sg-send")
    page.wait_for_selector("#sg-cards .sg-card", timeout=TURN_MS)
    page.locator("#sg-cards .sg-card").first.click()
    page.wait_for_selector("#sg-details .sg-details")
    page.wait_for_timeout(800)
    page.screenshot(path=str(out / "shopper.png"), full_page=True)
    page.close()

    phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN", device_scale_factor=2)
    phone.goto(url + "/", wait_until="load")
    phone.wait_for_function("() => document.querySelector('#sg-header')?.innerText.includes('智能导购')")
    phone.wait_for_function("() => document.querySelector('#sg-user input')?.value")
    phone.fill("#sg-input textarea", "推荐一款 800 元以内的耳机")
    phone.click("#sg-send")
    phone.wait_for_selector("#sg-cards .sg-card", timeout=TURN_MS)
    phone.wait_for_timeout(800)
    phone.screenshot(path=str(out / "shopper-phone-zh.png"), full_page=True)
    phone.close()


def staff(browser, url: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page.goto(url + "/staff/", wait_until="load")
    page.fill("input[type=text]", "staff")
    page.fill("input[type=password]", "staff-demo-password")
    page.keyboard.press("Enter")
    page.wait_for_selector("#sg-lookup-query textarea, #sg-lookup-query input")
    page.fill("#sg-lookup-query textarea, #sg-lookup-query input", "u000002")
    page.fill(
        "#sg-lookup-reason textarea, #sg-lookup-reason input", "客户来电咨询推荐 / customer called for advice"
    )
    page.click("#sg-lookup-btn")
    page.wait_for_selector("#sg-reasons-chart .matplotlib img", timeout=TURN_MS)
    page.wait_for_selector("#sg-recs .sg-card")
    page.wait_for_timeout(800)
    page.screenshot(path=str(out / "staff.png"), full_page=True)
    page.get_by_role("tab", name="客群看板").click()
    page.wait_for_selector("#sg-seg-dist svg.marks", timeout=TURN_MS)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "staff-segments.png"), full_page=True)
    page.close()


def widget(browser, url: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1280, "height": 860}, locale="en-US")
    page.goto(url + "/widget-demo", wait_until="load")
    page.click("#shopguide-launcher")
    frame = page.frame_locator("#shopguide-frame")
    frame.locator("#sg-input").fill("Recommend headphones under 800")
    frame.locator("#sg-send").click()
    frame.locator(".sg-assistant .sg-card").first.wait_for(timeout=TURN_MS)
    frame.locator(".sg-assistant .sg-text").last.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)
    page.screenshot(path=str(out / "widget.png"))
    page.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="serve this prepared data dir instead of a demo build")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    # The browser tests' cache (same size, same key): a tested tree needs no rebuild.
    parser.add_argument("--cache", type=Path, default=ROOT / ".pytest_cache" / "d" / "shopguide_live_shop")
    parser.add_argument("--users", type=int, default=120, help="demo shop size (users) when building")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="shopguide-shots-") as scratch:
        if args.data_dir is not None:
            data_dir = args.data_dir.resolve()
        else:
            built = cached_demo_data(args.cache, n_users=args.users, n_products=100)
            data_dir = copy_data_dir(built, Path(scratch) / "data")
        with LiveServer(data_dir) as server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            try:
                shopper(browser, server.url, args.out)
                staff(browser, server.url, args.out)
                widget(browser, server.url, args.out)
            finally:
                browser.close()
    for path in sorted(args.out.glob("*.png")):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
