"""Shared fixtures: an empty store per test, and the full demo shop generated and ingested once per session.

The ingested demo store is cached in pytest's cache directory under a key made of the generator/ingestion/schema
sources, so an unchanged tree reuses it across runs (each session still works on its own copy). Set
``SHOPGUIDE_TEST_NO_CACHE=1`` to rebuild from scratch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from domain.settings import Settings
from evals.live_server import INHERITED_SETTINGS, shop_settings

ROOT = Path(__file__).resolve().parents[1]
DEMO_SOURCES = (
    "tests/conftest.py",
    "domain/demo",
    "domain/ingest",
    "domain/models.py",
    "domain/store/schema.py",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run tests marked slow (scripts/test.sh does)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` (a whole demo shop, a suite) run only with ``--slow``: the local path stays fast."""
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (scripts/test.sh does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


# One builder of self-contained test settings (no LLM, no URLs inherited from the environment), shared with the
# live server the browser tests start.
make_settings = shop_settings


def build_small_shop(root: Path, *, n_users: int = 40, n_products: int = 40, **overrides: object) -> Settings:
    """A small real shop under ``root``: demo files, ingested SQLite store, Chroma index with the real embedder."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from domain.demo import generate_demo_shop
    from domain.ingest import ingest_demo
    from vectorstore.index import get_shop_index

    generate_demo_shop(root / "demo", n_users=n_users, n_products=n_products)
    settings = make_settings(root / "data", **overrides)
    ingest_demo(settings, root / "demo", progress=False)
    get_shop_index(settings).refresh(progress=False)
    return settings


def _sources_key() -> str:
    digest = hashlib.sha256()
    for rel in DEMO_SOURCES:
        target = ROOT / rel
        files = (
            sorted(f for f in target.rglob("*") if f.suffix in (".py", ".json"))
            if target.is_dir()
            else [target]
        )
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _build_demo(into: Path) -> None:
    from domain.demo import generate_demo_shop
    from domain.ingest import ingest_demo
    from domain.store.db import get_engine

    # The files live inside the data dir, as `shopguide demo-data` puts them (DATA_DIR/demo, with truth.parquet).
    settings = make_settings(into / "data")
    generate_demo_shop(settings.data_dir / "demo")
    ingest_demo(settings, settings.data_dir / "demo", progress=False)
    get_engine(settings).dispose()
    # Fold the WAL into the main file so a plain copy of the directory is complete.
    with sqlite3.connect(into / "data" / "shopguide.db") as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(scope="session")
def _demo_build(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("SHOPGUIDE_TEST_NO_CACHE") or getattr(request.config, "cache", None) is None:
        build = tmp_path_factory.mktemp("demo_build")
        _build_demo(build)
        return build
    cache_root = Path(request.config.cache.mkdir("shopguide_demo"))  # type: ignore[union-attr]
    cached = cache_root / _sources_key()
    if not (cached / "ready").exists():
        staging = cache_root / f"staging-{uuid.uuid4().hex}"
        _build_demo(staging)
        (staging / "ready").write_text("ok")
        try:
            staging.rename(cached)  # atomic: a concurrent session either wins or finds it complete
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
        for (
            stale
        ) in cache_root.iterdir():  # drop builds of older sources (after an hour: a session may be copying)
            if stale.name != cached.name and time.time() - stale.stat().st_mtime > 3600:
                shutil.rmtree(stale, ignore_errors=True)
    return cached


@pytest.fixture(scope="session")
def demo_dir(_demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo shop's files (products.jsonl, users.csv, ..., truth.parquet, manifest.json): a session copy."""
    target = tmp_path_factory.mktemp("demo_files") / "demo"
    shutil.copytree(_demo_build / "data" / "demo", target)
    return target


@pytest.fixture(scope="session")
def demo_settings(_demo_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose SQLite store holds the whole ingested demo shop (llm="none"); shared by the session.

    ``data_dir / "demo"`` holds the generated files, including the hidden ``truth.parquet``.
    """
    data_dir = tmp_path_factory.mktemp("demo_store") / "data"
    shutil.copytree(
        _demo_build / "data", data_dir, ignore=shutil.ignore_patterns("rejects", "*-wal", "*-shm")
    )
    return make_settings(data_dir)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings over an empty store in a fresh temporary directory."""
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def settings_factory() -> Callable[..., Settings]:
    """``settings_factory(data_dir, **overrides)``: test settings (no LLM, no URLs inherited from the environment)."""
    return make_settings


@pytest.fixture(scope="session")
def small_shop_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    """``small_shop_factory(name, n_users=40, n_products=40, **overrides)``: a fresh small real shop per call."""

    def build(name: str, **kwargs: object) -> Settings:
        return build_small_shop(tmp_path_factory.mktemp(name), **kwargs)  # type: ignore[arg-type]

    return build


@pytest.fixture(scope="session")
def indexed_demo(demo_settings: Settings) -> Settings:
    """The demo shop with its product index built (chat turns read products; history is not needed)."""
    from vectorstore.index import get_shop_index

    get_shop_index(demo_settings).refresh(progress=False, history=False)
    return demo_settings


@pytest.fixture(scope="module")
def local_demo(indexed_demo: Settings) -> Iterator[Settings]:
    """``indexed_demo`` on the managed local model, on a port of its own; the server stops with the module."""
    from evals.local_model import free_port, local_settings
    from llm.local_server import get_local_server

    settings = local_settings(indexed_demo, port=free_port())
    yield settings
    get_local_server(settings).stop_if_owner()


@pytest.fixture(scope="module")
def shopper(shop: Settings) -> str:
    """The user with the most orders in the module's ``shop``: every tool has something to say about them."""
    from sqlalchemy import func, select

    from domain.store.db import get_engine
    from domain.store.schema import orders

    with get_engine(shop).connect() as conn:
        return conn.execute(
            select(orders.c.user_id).group_by(orders.c.user_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()


@pytest.fixture
def cli_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """``cli_on(data_dir)``: the CLI (which reads its settings from the environment) works on that data dir
    only, without the LLM and without any store, index, key or staff account inherited from the developer's
    environment (the same list a live test server drops). Set a test's own variables after calling it."""
    from domain.settings import get_settings

    def point(data_dir: Path) -> None:
        monkeypatch.setenv("SHOPGUIDE_DATA_DIR", str(data_dir))
        monkeypatch.setenv("SHOPGUIDE_LLM", "none")
        for name in INHERITED_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()
