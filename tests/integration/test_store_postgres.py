"""The store and ingestion tests again, against a real PostgreSQL (production mode).

Runs when ``SHOPGUIDE_TEST_POSTGRES_URL`` is set (``scripts/postgres.sh start`` prints one; ``.ci/run`` sets it).
Each session gets its own database on that server, each test an empty schema.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from domain.demo import generate_demo_shop
from domain.ingest import ingest_demo
from domain.settings import Settings
from domain.store import repository
from domain.store.db import get_engine
from domain.store.schema import create_schema, drop_schema

ADMIN_URL = os.environ.get("SHOPGUIDE_TEST_POSTGRES_URL", "")
pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not ADMIN_URL, reason="SHOPGUIDE_TEST_POSTGRES_URL is not set (scripts/postgres.sh start)"
    ),
]

# The SQLite ingestion tests, collected here a second time so they run against PostgreSQL through the
# `settings` fixture below (the CLI test is left out: it drives its own SQLite store by environment).
_spec = importlib.util.spec_from_file_location(
    "ingest_cases", Path(__file__).parents[1] / "unit" / "test_ingest.py"
)
assert _spec is not None and _spec.loader is not None
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)
shop = _cases.shop
for _name in dir(_cases):
    if _name.startswith("test_") and _name != "test_cli_ingest_exit_codes_and_summary":
        globals()[f"{_name}_postgres"] = getattr(_cases, _name)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A fresh database on the test server for this module, dropped afterwards."""
    name = f"shopguide_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:  # FORCE closes the cached engine's pooled connections too
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, postgres_url: str, settings_factory: Callable[..., Settings]) -> Settings:
    """Test settings on PostgreSQL, with every table emptied (dropped and re-created) first."""
    settings = settings_factory(tmp_path / "data", database_url=postgres_url)
    engine = get_engine(settings)
    drop_schema(engine)
    create_schema(engine)
    return settings


def test_demo_shop_on_postgres_matches_sqlite(
    settings: Settings, tmp_path: Path, settings_factory: Callable[..., Settings]
) -> None:
    demo = generate_demo_shop(tmp_path / "demo", seed=3, n_users=120, n_products=60)
    summaries = ingest_demo(settings, demo.out_dir, progress=False)
    assert all(s.rejected == 0 for s in summaries)
    pg = get_engine(settings)
    assert pg.dialect.name == "postgresql"
    assert repository.table_counts(pg) == demo.counts

    again = ingest_demo(settings, demo.out_dir, progress=False)  # idempotent: ON CONFLICT DO UPDATE
    assert [s.stored for s in again] == [0] * len(again)
    assert [s.updated for s in again] == [s.read for s in again]
    assert repository.table_counts(pg) == demo.counts

    lite_settings = settings_factory(tmp_path / "lite")
    ingest_demo(lite_settings, demo.out_dir, progress=False)
    lite = get_engine(lite_settings)
    pd.testing.assert_frame_equal(repository.transactions_frame(pg), repository.transactions_frame(lite))
    pd.testing.assert_frame_equal(repository.events_frame(pg), repository.events_frame(lite))
    user_id = repository.transactions_frame(pg)["user_id"].iloc[0]
    assert repository.list_orders(pg, user_id) == repository.list_orders(lite, user_id)
    assert repository.list_events(pg, user_id, kinds=["purchase"]) == repository.list_events(
        lite, user_id, kinds=["purchase"]
    )


def test_score_all_streams_on_postgres_like_on_sqlite(
    settings: Settings, tmp_path: Path, settings_factory: Callable[..., Settings]
) -> None:
    """`score --all` on PostgreSQL: id-range reads, a training sample, upserts; the same scores as SQLite."""
    from valuation.service import ValueService

    demo = generate_demo_shop(tmp_path / "demo", seed=5, n_users=160, n_products=60)
    ingest_demo(settings, demo.out_dir, progress=False)
    lite_settings = settings_factory(tmp_path / "lite")
    ingest_demo(lite_settings, demo.out_dir, progress=False)
    tables = {}
    for name, s in (("pg", settings), ("lite", lite_settings)):
        service = ValueService(s.model_copy(update={"value_train_users": 100}))
        service.train()
        summary = service.assess_all(out=tmp_path / f"{name}.parquet", progress=False, chunk_users=50)
        assert summary.users == 160 and summary.chunks == 4
        tables[name] = pd.read_parquet(tmp_path / f"{name}.parquet").set_index("user_id")
    pd.testing.assert_frame_equal(
        tables["pg"].drop(columns=["model_version"]), tables["lite"].drop(columns=["model_version"])
    )
    with get_engine(settings).connect() as conn:
        stored = conn.execute(text("select count(*) from value_assessments")).scalar()
    assert stored == 160
