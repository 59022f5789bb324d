"""Browser-test fixtures: a small demo shop (built once and cached by source hash), a real ``shopguide serve``
on 127.0.0.1 (llm=none: guided templates), and Debian's headless Chromium driven by Playwright.
"""

from __future__ import annotations

import hashlib
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.settings import Settings
from ui.live_server import LiveServer, build_demo_data_in_subprocess, copy_data_dir, shop_settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# What the cached shop depends on: rebuild when any of these change.
LIVE_SHOP_SOURCES = (
    "domain/demo",
    "domain/ingest",
    "domain/store/schema.py",
    "vectorstore",
    "valuation",
    "ui/live_server.py",
)
LIVE_SHOP_SIZE = {"n_users": 120, "n_products": 100}


def _sources_key() -> str:
    digest = hashlib.sha256(repr(sorted(LIVE_SHOP_SIZE.items())).encode())
    for rel in LIVE_SHOP_SOURCES:
        target = ROOT / rel
        for file in sorted(target.rglob("*.py")) if target.is_dir() else [target]:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def cached_live_shop(config: pytest.Config, scratch: Path) -> Path:
    """The built demo data dir for the current sources, building it once (atomic rename into the cache)."""
    if getattr(config, "cache", None) is None:  # cache plugin disabled: build for this session only
        build_demo_data_in_subprocess(scratch / "built" / "data", **LIVE_SHOP_SIZE)
        return scratch / "built" / "data"
    cache_root = Path(config.cache.mkdir("shopguide_live_shop"))
    cached = cache_root / _sources_key()
    if not (cached / "ready").exists():
        staging = cache_root / f"staging-{uuid.uuid4().hex}"
        build_demo_data_in_subprocess(staging / "data", **LIVE_SHOP_SIZE)
        (staging / "ready").write_text("ok")
        try:
            staging.rename(cached)
        except OSError:  # another session won the race
            shutil.rmtree(staging, ignore_errors=True)
        for stale in cache_root.iterdir():
            if stale.name != cached.name and not stale.name.startswith("staging-"):
                shutil.rmtree(stale, ignore_errors=True)
    return cached / "data"


def start_live_server(config: pytest.Config, workdir: Path) -> LiveServer:
    data_dir = copy_data_dir(cached_live_shop(config, workdir), workdir / "data")
    return LiveServer(data_dir).start()


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


@pytest.fixture(scope="session")
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
    """A demo shopper with orders (the first one the demo picker offers)."""
    from ui.services import UiContext

    return UiContext(server_settings).demo_users(1)[0][1]
