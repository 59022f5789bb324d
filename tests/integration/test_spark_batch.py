"""The batch on Apache Spark (local[2]) against the single-machine batch, on a small generated shop: the same
assessments row for row, write-back, the campaign list, and clear errors (nothing written) on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from domain.demo import generate_demo_shop
from domain.ingest import ingest_demo
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.parquet_export import export_store_parquet
from domain.store.schema import value_assessments
from recommend.marketing import campaign_list
from recommend.spark_campaign import campaign_on_spark
from valuation.batch import FLAT_COLUMNS
from valuation.service import ValueService
from valuation.spark_batch import score_on_spark, spark_session, write_back

pytestmark = [pytest.mark.spark, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
NUMBERS = (
    "score", "predicted_spend_12m", "predicted_purchases_12m", "p_alive", "price_sensitivity", "churn_risk",
    "next_purchase_prob_30d",
)  # fmt: skip


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, ValueService, Path]:
    """A 300-user generated shop (orders, events, reviews), its trained engine and its Parquet export."""
    root = tmp_path_factory.mktemp("spark_shop")
    settings = Settings(data_dir=root / "data", llm="none", database_url="", chroma_url="", encryption_key="")
    generate_demo_shop(root / "demo", n_users=300, n_products=60)
    ingest_demo(settings, root / "demo", progress=False)
    service = ValueService(settings)
    service.train()
    export_store_parquet(get_engine(settings), root / "export", chunk_users=70)
    return settings, service, root / "export"


@pytest.fixture(scope="module")
def spark():  # type: ignore[no-untyped-def]
    session = spark_session("local[2]")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def both(shop, spark, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame, Path]:  # type: ignore[no-untyped-def]
    """(single-machine table, Spark table, Spark output dir), both from chunks of 70 users."""
    _, service, export = shop
    out = tmp_path_factory.mktemp("spark_out")
    service.assess_all(out=out / "local.parquet", progress=False, chunk_users=70, workers=1)
    summary = score_on_spark(service.scoring_job(), export, out / "scored", chunk_users=70, spark=spark)
    assert summary.buckets >= 2 and summary.users > 250
    local = pd.read_parquet(out / "local.parquet").set_index("user_id").sort_index()
    remote = pd.read_parquet(out / "scored").set_index("user_id").sort_index()
    return local, remote, out / "scored"


def test_spark_scores_every_user_as_the_single_machine_batch_does(both):
    local, remote, _ = both
    assert list(remote.columns) == list(FLAT_COLUMNS[1:])
    assert remote.index.is_unique and remote.index.equals(local.index)
    for col in NUMBERS:
        np.testing.assert_allclose(remote[col], local[col], rtol=1e-9, atol=1e-9, err_msg=col)
    for col in ("segment", "likely_categories", "explanation", "as_of", "model_version"):
        assert (remote[col] == local[col]).all(), col
    for uid in local.index:
        mine, theirs = json.loads(remote.at[uid, "reasons"]), json.loads(local.at[uid, "reasons"])
        assert [r["feature"] for r in mine] == [r["feature"] for r in theirs]
        assert [r["contribution"] for r in mine] == pytest.approx(
            [r["contribution"] for r in theirs], abs=1e-9
        )
    assert local["segment"].nunique() >= 3  # a real spread, not one segment everywhere


def test_write_back_stores_the_spark_table(shop, both):
    settings, service, _ = shop
    _, remote, scored = both
    engine = get_engine(settings)
    with engine.begin() as conn:
        conn.execute(value_assessments.delete())
    assert write_back(engine, scored, service.scoring_job().trained) == len(remote)
    with engine.connect() as conn:
        rows = conn.execute(select(value_assessments.c.user_id, value_assessments.c.payload)).fetchall()
    stored = {uid: payload for uid, payload in rows}
    assert set(stored) == set(remote.index)
    uid = remote.index[0]
    assert stored[uid]["score"] == remote.at[uid, "score"]
    assert stored[uid]["explanation"] == remote.at[uid, "explanation"]
    assert len(stored[uid]["reasons"]) == 5


def test_campaign_on_spark_equals_the_campaign_command(shop, both, spark):
    settings, _, export = shop
    _, remote, scored = both
    segment = remote["segment"].value_counts().index[0]
    expected = campaign_list(settings, segment)
    got = campaign_on_spark(spark, scored, export, segment)
    key = ["score", "user_id"]
    expected = expected.sort_values(key, ascending=[False, True], ignore_index=True)
    assert list(got.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHOPGUIDE_DATA_DIR": str(settings.data_dir), "SHOPGUIDE_LLM": "none",
           "SHOPGUIDE_DATABASE_URL": "", "SHOPGUIDE_CHROMA_URL": "", "SHOPGUIDE_ENCRYPTION_KEY": ""}  # fmt: skip
    cli = "from ui.cli import main; main()"
    cmd = [sys.executable, "-c", cli, "score", "--all", "--engine", "spark", "--master", "local[2]", *args]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _assert_clear_error(run: subprocess.CompletedProcess[str], expected: str, out: Path) -> None:
    assert run.returncode == 2, run.stderr
    assert expected in run.stderr
    assert "Traceback" not in run.stderr and "java" not in run.stderr.lower()
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()


def test_a_missing_input_path_is_a_clear_error(shop, tmp_path):
    settings, _, _ = shop
    out = tmp_path / "scored"
    run = _cli(settings, "--input", str(tmp_path / "nowhere"), "--out", str(out))
    _assert_clear_error(run, "does not exist", out)


def test_a_missing_column_is_a_clear_error(shop, tmp_path):
    settings, _, export = shop
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in export.iterdir():
        frame = pd.read_parquet(f)
        if f.stem == "order_lines":
            frame = frame.drop(columns=["amount"])
        frame.to_parquet(bad / f.name, coerce_timestamps="us")
    out = tmp_path / "scored"
    _assert_clear_error(
        _cli(settings, "--input", str(bad), "--out", str(out)), "lacks column(s) ['amount']", out
    )


def test_an_unreadable_parquet_file_is_a_clear_error(shop, tmp_path):
    settings, _, export = shop
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in export.iterdir():
        (bad / f.name).write_bytes(f.read_bytes() if f.stem != "orders" else b"not parquet at all")
    out = tmp_path / "scored"
    _assert_clear_error(_cli(settings, "--input", str(bad), "--out", str(out)), "not readable Parquet", out)
