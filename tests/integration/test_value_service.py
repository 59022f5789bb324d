"""The value service on the real ingested demo store: lazy training, one-user assessments, persistence across
service instances, the batch (table + Parquet/CSV), the fine-tuning export and the `shopguide score` CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from domain.models import Segment, ValueAssessment
from domain.store.db import get_engine
from domain.store.schema import value_assessments
from valuation.final_engine import ENGINE_LEAVES
from valuation.finetune import finetune_examples, write_finetune_jsonl
from valuation.ranking import RANK_TILTS, RFM_MIXES
from valuation.service import UnknownUser, ValueService, get_value_service

pytestmark = pytest.mark.slow  # trains the value engine on the whole demo shop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def service(demo_settings):
    svc = get_value_service(demo_settings)
    svc.ensure_ready()  # trains on first use (or loads what an earlier test in the session saved)
    return svc


def test_assess_gives_a_complete_assessment(service):
    uid = service.population.sort_values("score").index[-1]
    a = service.assess(uid, with_llm=False)
    assert isinstance(a, ValueAssessment) and a.user_id == uid
    assert a.score > 99 and a.segment in (Segment.vip, Segment.lapsed)
    assert a.predicted_spend_12m > 0 and a.predicted_purchases_12m > 0
    assert 0 <= a.p_alive <= 1 and 0 <= a.churn_risk <= 1 and 0 <= a.next_purchase_prob_30d <= 1
    assert a.likely_categories and len(a.likely_categories) <= 3
    assert len(a.reasons) == 5 and all(r.label_en and r.label_zh for r in a.reasons)
    assert sorted((abs(r.contribution) for r in a.reasons), reverse=True) == [
        abs(r.contribution) for r in a.reasons
    ]
    assert a.profile is not None and a.profile.source == "rules"
    assert a.model_version == service.model_version and a.as_of.isoformat() >= "2026-06-30"
    assert f"{a.score:.0f}/100" in a.explanation


def test_explanation_follows_the_users_language(service, demo_settings):
    users = pd.read_csv(demo_settings.data_dir / "demo" / "users.csv", usecols=["user_id", "language"])
    zh_user = users.loc[users.language == "zh", "user_id"].iloc[0]
    en_user = users.loc[users.language == "en", "user_id"].iloc[0]
    assert service.assess(zh_user, with_llm=False).explanation.startswith("价值评分")
    assert service.assess(en_user, with_llm=False).explanation.startswith("Value score")


def test_scores_are_population_percentiles(service):
    pop = service.population
    assert pop["score"].between(0, 100).all()
    assert pop["score"].median() == pytest.approx(50, abs=1)
    # the score orders users exactly as the predicted value does
    assert pop["score"].corr(pop["raw_pred"], method="spearman") == pytest.approx(1.0)
    assert set(pop["segment"]) == {s.value for s in Segment}


def test_unknown_user_is_a_clear_error(service):
    with pytest.raises(UnknownUser):
        service.assess("no-such-user")


def test_a_new_service_instance_loads_the_saved_engine(service, demo_settings):
    uid = service.population.index[0]
    fresh = ValueService(demo_settings)

    def no_training(**_: object) -> None:
        raise AssertionError("a saved engine must be loaded, not retrained")

    fresh.train = no_training  # type: ignore[method-assign]
    assert fresh.model_dir.joinpath("value_model.json").exists()
    assert fresh.model_version == service.model_version  # loaded, not retrained (same version)
    assert fresh.assess(uid, with_llm=False) == service.assess(uid, with_llm=False)


def test_assess_all_stores_and_exports(service, demo_settings, tmp_path):
    summary = service.assess_all(out=tmp_path / "scores.parquet", progress=False, chunk_users=700)
    assert summary.users == len(service.population) and summary.chunks == 5  # 3,000 users, 700 a chunk
    assert sum(summary.segments.values()) == summary.users
    with get_engine(demo_settings).connect() as conn:
        assert conn.execute(select(func.count()).select_from(value_assessments)).scalar() == summary.users
        stored = conn.execute(select(value_assessments.c.payload).limit(20)).scalars().all()
    for payload in stored:  # what marketing and the recommender read back
        a = ValueAssessment.model_validate(payload)
        assert a.reasons and a.explanation and a.model_version == service.model_version
    back = pd.read_parquet(tmp_path / "scores.parquet").set_index("user_id")
    assert {"score", "segment", "predicted_spend_12m", "churn_risk", "explanation"} <= set(back.columns)
    # Streamed chunk by chunk, every score is still the user's percentile in the whole population.
    pd.testing.assert_series_equal(
        back["score"].sort_index(), service.population["score"].sort_index(), check_names=False
    )
    for one in back.index[[0, 1234, -1]]:
        single = service.assess(one, with_llm=False)
        assert back.loc[one, "score"] == single.score and back.loc[one, "segment"] == single.segment.value
    service.assess_all(out=tmp_path / "scores.csv", progress=False)
    assert len(pd.read_csv(tmp_path / "scores.csv")) == summary.users
    with pytest.raises(ValueError):
        service.assess_all(out=tmp_path / "scores.xlsx", progress=False)


def test_finetune_export_is_openai_chat_jsonl_without_pii(service, demo_settings, tmp_path):
    path = write_finetune_jsonl(
        tmp_path / "ft.jsonl", finetune_examples(service.population, service.features, 50)
    )
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 50
    roles = [m["role"] for m in lines[0]["messages"]]
    assert roles == ["system", "user", "assistant"]
    answer = json.loads(lines[0]["messages"][2]["content"])
    assert 0 <= answer["score"] <= 100 and Segment(answer["segment"])
    users = pd.read_csv(demo_settings.data_dir / "demo" / "users.csv", dtype=str)
    text = path.read_text(encoding="utf-8")
    for col in ("name", "phone", "email"):
        assert not any(v in text for v in users[col].dropna().head(200)), col


def test_score_cli_json_and_unknown_user(service, demo_settings):
    env = {**os.environ, "SHOPGUIDE_DATA_DIR": str(demo_settings.data_dir), "SHOPGUIDE_LLM": "none",
           "SHOPGUIDE_DATABASE_URL": "", "SHOPGUIDE_CHROMA_URL": ""}  # fmt: skip
    uid = service.population.index[1]
    cmd = [str(Path(sys.executable).parent / "shopguide"), "score", uid, "--json"]
    run = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["user_id"] == uid and data["score"] == service.assess(uid, with_llm=False).score
    cmd[-2] = "nobody"
    bad = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown user" in bad.stderr


@pytest.fixture(scope="module")
def small_shop(tmp_path_factory):
    """A 150-user shop (the size the live UI tests serve), generated and ingested for real."""
    from domain.demo import generate_demo_shop
    from domain.ingest import ingest_demo
    from domain.settings import Settings

    data_dir = tmp_path_factory.mktemp("small_shop") / "data"
    settings = Settings(data_dir=data_dir, llm="none", database_url="", chroma_url="", encryption_key="")
    generate_demo_shop(data_dir / "demo", n_users=150, n_products=80)
    ingest_demo(settings, data_dir / "demo", progress=False)
    return settings


def test_small_shop_trains_and_new_users_are_scored_on_demand(small_shop):
    from domain.store.schema import orders, users

    service = ValueService(small_shop)
    meta = service.train()
    assert meta["n_train_rows"] > 0 and len(service.population) == 150
    # the backtest decided how far the learned model may move the ranking away from BTYD, per target
    assert 0.0 <= meta["blend"]["spend_weight"] <= 1.0 and meta["blend"]["purchases_reason"]
    # the recipe eval value measures (final_engine.fit_engine): a correction of BTYD's 12-month prediction, the
    # tree size and the spend ranking (tilt, RFM mix) from the backtest, amounts at their own weight
    trained = service._trained
    assert trained is not None and trained.value_model.meta["uses_base_margin"]
    assert set(meta["backtest"]["leaves_gain"]) <= set(ENGINE_LEAVES)
    assert meta["blend"]["rank_tilt"] in RANK_TILTS and meta["blend"]["rfm_mix"] in RFM_MIXES
    assert meta["blend"]["spend_amount_weight"] <= meta["blend"]["spend_weight"]
    with get_engine(small_shop).begin() as conn:
        conn.execute(
            users.insert().values(user_id="u-new", signup_at=pd.Timestamp("2026-06-29"), language="en")
        )
    fresh = service.assess("u-new", with_llm=False)  # registered after the run: scored on demand
    assert fresh.segment is Segment.promising and fresh.predicted_spend_12m >= 0
    assert fresh.explanation.startswith("Value score") and 0 <= fresh.score <= 100
    assert "u-new" in service.population.index  # kept for the next call
    # an existing user's on-demand score equals the batch one (same features, same ranking)
    uid = service.population.index[3]
    with get_engine(small_shop).connect() as conn:
        has_orders = conn.execute(
            select(func.count()).select_from(orders).where(orders.c.user_id == uid)
        ).scalar()
    batch = service.population.loc[uid, "score"]
    service._population = service._population.drop(index=uid)  # forget them: force the on-demand path
    service._features = service._features.drop(index=uid)
    again = service.assess(uid, with_llm=False)
    assert again.score == pytest.approx(batch, abs=100 / 150), has_orders


def test_train_cli_reports_the_blend_weights(small_shop):
    env = {**os.environ, "SHOPGUIDE_DATA_DIR": str(small_shop.data_dir), "SHOPGUIDE_LLM": "none",
           "SHOPGUIDE_DATABASE_URL": "", "SHOPGUIDE_CHROMA_URL": "", "COLUMNS": "200"}  # fmt: skip
    cmd = [str(Path(sys.executable).parent / "shopguide"), "train", "--json"]
    run = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    meta = json.loads(run.stdout)
    for target in ("spend", "purchases"):
        assert 0.0 <= meta["blend"][f"{target}_weight"] <= 1.0
        assert f"n={meta['backtest']['n_backtest']}" in meta["blend"][f"{target}_reason"]
    text = subprocess.run(cmd[:-1], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert text.returncode == 0 and "blend vs BTYD" in text.stderr and "spend: " in text.stderr


def test_a_big_store_trains_on_a_sample_and_still_scores_everyone(small_shop, tmp_path):
    """With more users than ``value_train_users``, training and the reference population use a systematic
    sample; the streamed batch still scores every user, on the sample's percentile scale."""
    settings = small_shop.model_copy(update={"value_train_users": 60})
    service = ValueService(settings)
    meta = service.train()
    assert len(service.population) == 60 and meta["population_users"] == 60
    from domain.store.schema import users

    with get_engine(settings).connect() as conn:  # 150, plus any user an earlier test registered
        n_users = conn.execute(select(func.count()).select_from(users)).scalar()
    summary = service.assess_all(out=tmp_path / "all.parquet", progress=False, chunk_users=40)
    assert summary.users == n_users and summary.chunks == -(-n_users // 40)
    back = pd.read_parquet(tmp_path / "all.parquet").set_index("user_id")
    assert len(back) == n_users and back["score"].between(0, 100).all()
    # The sampled users keep exactly their reference score; the others are placed in that ranking.
    sampled = service.population.index
    pd.testing.assert_series_equal(
        back.loc[sampled, "score"].sort_index(), service.population["score"].sort_index(), check_names=False
    )
    assert back["score"].std() > 15  # spread over the scale, not piled at one end
    with get_engine(settings).connect() as conn:
        stored = conn.execute(select(func.count()).select_from(value_assessments)).scalar()
    assert stored == n_users
    # The same run over two worker processes gives the same file, row for row, in id order.
    again = service.assess_all(out=tmp_path / "two.parquet", progress=False, chunk_users=40, workers=2)
    assert again.users == n_users and again.chunks == summary.chunks
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two.parquet").set_index("user_id"), back)
    # Without a file the workers send back only counts: the same users, segments and score total.
    counted = service.assess_all(progress=False, chunk_users=40, workers=2)
    assert (counted.users, counted.chunks, counted.segments) == (n_users, summary.chunks, summary.segments)
    assert counted.score_sum == pytest.approx(summary.score_sum)
