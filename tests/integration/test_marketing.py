"""Segments report and campaign exports on the demo store: sizes add up, PII masked unless staff (audited)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from domain.models import Segment
from domain.privacy.access import Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import audit_log
from recommend.marketing import OFFERS, campaign_list, segment_report

pytestmark = pytest.mark.slow  # trains and segments the whole demo shop


@pytest.fixture(scope="module")
def shop(demo_settings: Settings) -> Settings:
    from valuation.service import get_value_service

    get_value_service(demo_settings).assess_all(progress=False)
    return demo_settings


@pytest.fixture(scope="module")
def raw_contacts(demo_dir: Path) -> dict[str, dict[str, str]]:
    with (demo_dir / "users.csv").open(encoding="utf-8") as handle:
        return {row["user_id"]: row for row in csv.DictReader(handle)}


def test_segment_report_adds_up(shop: Settings) -> None:
    report = segment_report(shop)
    assert report.users == 3000
    assert {s.segment for s in report.segments} == {s.value for s in Segment}
    assert sum(s.users for s in report.segments) == report.users
    assert sum(s.revenue_share for s in report.segments) == pytest.approx(1.0, abs=1e-3)
    by = {s.segment: s for s in report.segments}
    assert by["vip"].users > 0 and by["vip"].avg_predicted_spend_12m > by["lapsed"].avg_predicted_spend_12m
    assert by["vip"].revenue_share > by["vip"].user_share  # VIPs bring more than their head count


def test_campaign_masks_pii_for_non_staff(shop: Settings, raw_contacts: dict[str, dict[str, str]]) -> None:
    frame = campaign_list(shop, "at_risk")
    assert len(frame) > 0 and frame["score"].is_monotonic_decreasing
    assert set(frame["offer_en"]) == {OFFERS["at_risk"][0]} and set(frame["offer_zh"]) == {
        OFFERS["at_risk"][1]
    }
    assert "name" not in frame.columns
    for row in frame.itertuples():
        raw = raw_contacts[row.user_id]
        if raw["phone"]:
            assert (
                row.phone
                and row.phone != raw["phone"]
                and raw["phone"] not in json.dumps(row._asdict(), default=str)
            )
        if raw["email"]:
            assert row.email != raw["email"]
    with pytest.raises(ValueError, match="unknown segment"):
        campaign_list(shop, "whales")


def test_staff_export_decrypts_and_is_audited(
    shop: Settings, raw_contacts: dict[str, dict[str, str]]
) -> None:
    frame = campaign_list(shop, "vip", principal=Principal.staff("marketer"), limit=20, with_products=True)
    assert len(frame) == 20
    for row in frame.itertuples():
        raw = raw_contacts[row.user_id]
        assert (row.phone or "") == raw["phone"] and (row.email or "") == raw["email"]
    assert frame["offer_product_id"].notna().all()
    with get_engine(shop).connect() as conn:
        audits = conn.execute(select(audit_log).where(audit_log.c.actor == "marketer")).fetchall()
    assert any(a.action == "campaign_export" and "segment=vip" in a.reason for a in audits)


def test_cli_segments_and_campaign(
    shop: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_on
) -> None:
    from ui.cli.app import app

    cli_on(shop.data_dir)
    monkeypatch.setenv("SHOPGUIDE_STAFF_USERS", "boss:s3cret")
    runner = CliRunner()
    res = runner.invoke(app, ["segments", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["users"] == 3000
    res = runner.invoke(app, ["segments", "--csv"])
    assert res.exit_code == 0 and res.output.startswith("segment,users,")
    out = tmp_path / "promising.csv"
    res = runner.invoke(app, ["campaign", "--segment", "promising", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "masked" in res.output and len(pd.read_csv(out)) > 0
    res = runner.invoke(app, ["campaign", "-s", "vip", "-o", str(tmp_path / "v.csv"), "--staff",
                              "--staff-user", "boss", "--password", "wrong"])  # fmt: skip
    assert res.exit_code == 2 and not (tmp_path / "v.csv").exists()
    res = runner.invoke(app, ["campaign", "-s", "nope", "-o", str(tmp_path / "x.csv")])
    assert res.exit_code == 2
