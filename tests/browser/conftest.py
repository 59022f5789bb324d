"""Browser-test fixtures: a small demo shop (built once, cached in pytest's cache by source hash), a real
``shopguide serve`` on 127.0.0.1 (llm=none: guided templates), and Debian's headless Chromium via Playwright.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.settings import Settings
from evals.live_server import LiveServer, cached_demo_data, copy_data_dir, shop_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def start_live_server(config: pytest.Config, workdir: Path) -> LiveServer:
    """``shopguide serve`` over a private copy of the cached small demo shop."""
    cache = getattr(config, "cache", None)
    cache_root = Path(cache.mkdir("shopguide_live_shop")) if cache is not None else workdir / "build"
    return LiveServer(copy_data_dir(cached_demo_data(cache_root), workdir / "data")).start()


@pytest.fixture(scope="session")
def live_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = start_live_server(request.config, tmp_path_factory.mktemp("live_ui"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def server_settings(live_server: LiveServer) -> Settings:
    """Settings over the live server's data dir: the same store, keys and token secret (tests issue tokens)."""
    return shop_settings(live_server.data_dir)


# Module scope, not session: Playwright's sync API keeps an event loop marked as running in the main thread
# while it is open, which breaks every later test that calls asyncio.run().
@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium missing: apt-get install -y chromium (never `playwright install`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(chromium):  # type: ignore[no-untyped-def]
    """Factory: a fresh browser context + page (viewport, locale); closed after the test."""
    contexts = []

    def make(width: int = 1280, height: int = 900, locale: str = "en-US"):  # type: ignore[no-untyped-def]
        context = chromium.new_context(viewport={"width": width, "height": height}, locale=locale)
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def demo_user_id(server_settings: Settings) -> str:
    """A demo shopper with a value assessment (the first one the demo picker offers)."""
    from ui.services import UiContext

    return UiContext(server_settings).demo_users(1)[0][1]
