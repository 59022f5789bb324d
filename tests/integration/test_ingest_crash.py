"""SIGKILL in the middle of a large `shopguide ingest`, run it again: the store equals an uninterrupted run."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from domain.demo import generate_demo_shop
from domain.ingest import ingest_path
from domain.settings import Settings
from domain.store.db import get_engine

BATCH = 2_000
N_ORDERS = 80_000


def _write_big_order_lines(path: Path, n_orders: int, product_ids: list[str]) -> int:
    rng = np.random.default_rng(3)
    n_lines = rng.integers(1, 5, size=n_orders)
    rows = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("order_id,line_no,product_id,quantity,unit_price,discount\n")
        for i, count in enumerate(n_lines):
            for line_no in range(1, int(count) + 1):
                product = product_ids[int(rng.integers(len(product_ids)))]
                handle.write(
                    f"x{i:07d},{line_no},{product},{int(rng.integers(1, 4))},{rng.integers(10, 5000)}.0,0\n"
                )
                rows += 1
    return rows


def _table(db: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture(scope="module")
def base_store(
    tmp_path_factory: pytest.TempPathFactory, settings_factory: Callable[..., Settings]
) -> tuple[Path, Path, int]:
    """A store with products, users and many orders, plus a large order_lines file referring to them."""
    root = tmp_path_factory.mktemp("crash")
    demo = generate_demo_shop(root / "demo", seed=5, n_users=200, n_products=100)
    settings = settings_factory(root / "base")
    ingest_path(settings, demo.files["products"], progress=False)
    ingest_path(settings, demo.files["users"], progress=False)
    orders = root / "orders.csv"
    user_ids = [f"u{i:06d}" for i in range(1, 201)]
    with orders.open("w", encoding="utf-8") as handle:
        handle.write("order_id,user_id,created_at,status\n")
        for i in range(N_ORDERS):
            handle.write(
                f"x{i:07d},{user_ids[i % len(user_ids)]},2025-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00,paid\n"
            )
    ingest_path(settings, orders, progress=False, batch_size=20_000)
    get_engine(settings).dispose()  # closes the last connection, which folds the WAL into the file
    lines = root / "order_lines.csv"
    total = _write_big_order_lines(lines, N_ORDERS, [f"p{i:05d}" for i in range(1, 101)])
    return root / "base", lines, total


def _run_ingest(data_dir: Path, lines: Path, **popen: object) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "SHOPGUIDE_DATA_DIR": str(data_dir),
        "SHOPGUIDE_DATABASE_URL": "",
        "SHOPGUIDE_LLM": "none",
    }
    cli = str(Path(sys.executable).parent / "shopguide")
    return subprocess.Popen(
        [cli, "ingest", str(lines), "--batch-size", str(BATCH), "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )


@pytest.mark.slow
def test_sigkill_mid_ingest_then_rerun_equals_an_uninterrupted_run(
    base_store: tuple[Path, Path, int], tmp_path: Path
) -> None:
    base, lines, total = base_store
    clean, crashed = tmp_path / "clean", tmp_path / "crashed"
    shutil.copytree(base, clean)
    shutil.copytree(base, crashed)

    # Uninterrupted reference run.
    done = _run_ingest(clean, lines)
    out, err = done.communicate(timeout=600)
    assert done.returncode == 0, err
    assert f"read {total}, stored {total}, updated 0, rejected 0" in out

    # Start the same ingest, kill -9 once a few batches are committed but well before the end.
    db = crashed / "shopguide.db"
    proc = _run_ingest(crashed, lines)
    committed = 0
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        committed = _table(db, "SELECT count(*) FROM order_lines")[0][0]  # type: ignore[assignment]
        if committed >= 3 * BATCH:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the ingest finished before it could be killed: make the file larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    at_kill = _table(db, "SELECT count(*) FROM order_lines")[0][0]
    assert 0 < at_kill < total  # type: ignore[operator]
    assert at_kill % BATCH == 0  # only whole batches are ever committed: no partial batch, no half row

    rerun = _run_ingest(crashed, lines)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    assert f"read {total}, stored {total - at_kill}, updated {at_kill}, rejected 0" in out  # type: ignore[operator]

    for table, key in (
        ("order_lines", "order_id, line_no"),
        ("orders", "order_id"),
        ("products", "product_id"),
    ):
        query = f"SELECT * FROM {table} ORDER BY {key}"
        assert _table(crashed / "shopguide.db", query) == _table(clean / "shopguide.db", query), table
    user_query = (
        "SELECT user_id, signup_at, language, city, phone_hmac, email_hmac FROM users ORDER BY user_id"
    )
    assert _table(crashed / "shopguide.db", user_query) == _table(clean / "shopguide.db", user_query)
    check = _table(crashed / "shopguide.db", "PRAGMA integrity_check")
    assert check == [("ok",)]
