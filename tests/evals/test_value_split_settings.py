"""`eval value` on any split that makes sense: a calibration period shorter than the holdout, and clear errors
naming the dates for settings no model can be evaluated on (CDNOW sample: orders 1997-01-01 to 1998-06-30)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from valuation.datasets import Dataset, load_cdnow
from valuation.evaluate import ValueEvalReport, run_value_eval

pytestmark = pytest.mark.slow  # an eval over CDNOW split settings: trains the engine per setting


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_cdnow("sample")


def evaluate(data: Dataset, split: str, calibration_end: str, holdout_end: str) -> ValueEvalReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report, table = run_value_eval(
            data, split=split, calibration_end=calibration_end, holdout_end=holdout_end, n_folds=2
        )
    assert len(table) == report.n_evaluated > 0
    return report


def spend(report: ValueEvalReport, model: str) -> dict[str, float]:
    return next(s.metrics for s in report.scores if s.model == model and s.target == "spend")


# (calibration end, holdout end): every calibration period here is shorter than its holdout.
SHORT_CALIBRATION = [
    ("1997-05-31", "1998-06-30"),  # 150 days vs 395: one 90-day window after 60 days of history
    ("1997-06-30", "1998-06-30"),  # 180 vs 365
    ("1997-07-31", "1998-06-30"),  # 211 vs 334: two windows, 1/3 of the horizon and the longest that fits
    ("1997-05-15", "1998-03-31"),  # 134 vs 320: one 74-day window
]


@pytest.mark.parametrize(("calibration_end", "holdout_end"), SHORT_CALIBRATION)
def test_temporal_split_with_a_holdout_longer_than_calibration_trains_on_shorter_windows(
    sample: Dataset, calibration_end: str, holdout_end: str
) -> None:
    report = evaluate(sample, "temporal", calibration_end, holdout_end)
    assert report.n_evaluated == report.n_customers
    assert report.training.startswith("rolling origins: ")
    cal_end = pd.Timestamp(calibration_end)
    for window in report.training.removeprefix("rolling origins: ").split(", "):
        start, end = (pd.Timestamp(d) for d in window.split("->"))
        assert end == cal_end  # windows end on the calibration end, never in the holdout
        assert start >= pd.Timestamp("1997-03-02")  # 60 days of history before every origin
        assert (end - start).days < (pd.Timestamp(holdout_end) - cal_end).days
    assert report.blend and "spend_weight" in report.blend[0]
    final = spend(report, "final-engine")
    assert final["spearman"] > 0.2 and final["total_pred"] > 0


def test_temporal_split_without_room_for_a_window_falls_back_to_btyd_and_says_why(sample: Dataset) -> None:
    report = evaluate(
        sample, "temporal", "1997-03-31", "1998-06-30"
    )  # 89 days: no 60-day window after 60 days
    assert report.training.startswith("BTYD only: ")
    assert "1997-03-31" in report.training and "1997-01-01" in report.training
    assert spend(report, "final-engine") == spend(report, "bgnbd-gg")  # the engine is BTYD, exactly
    assert "learned" not in {s.model for s in report.scores}
    assert report.blend[0]["spend_weight"] == 0.0


def test_customer_split_without_rolling_origins_trains_on_the_other_customers(sample: Dataset) -> None:
    report = evaluate(sample, "random", "1997-03-31", "1998-06-30")
    assert "no rolling origin" in report.training
    assert report.n_evaluated == report.n_customers and len(report.fold_gains) == 2


@pytest.mark.parametrize(
    ("calibration_end", "holdout_end", "message"),
    [
        ("1996-11-30", "1997-06-30", "calibration end 1996-11-30 is before the first transaction 1997-01-01"),
        ("1997-09-30", "1998-12-31", "holdout end 1998-12-31 is beyond the data, which ends on 1998-06-30"),
        (
            "1998-06-30",
            "1998-09-30",
            "calibration end 1998-06-30 is on or after the last transaction 1998-06-30",
        ),
        ("1997-09-30", "1997-06-30", "holdout end 1997-06-30 must be after calibration end 1997-09-30"),
    ],
)
def test_impossible_settings_name_the_dates(
    sample: Dataset, calibration_end: str, holdout_end: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        run_value_eval(sample, split="temporal", calibration_end=calibration_end, holdout_end=holdout_end)


def test_cli_prints_the_btyd_only_reason_and_the_dates_of_an_impossible_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.cli  # noqa: F401  (registers the command groups)
    from ui.cli.app import app

    monkeypatch.setenv("SHOPGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COLUMNS", "200")
    base = ["eval", "value", "--dataset", "cdnow-sample", "--split", "temporal"]
    ok = CliRunner().invoke(app, [*base, "--calibration-end", "1997-03-31", "--holdout-end", "1998-06-30"])
    assert ok.exit_code == 0, ok.output
    assert "BTYD only" in ok.output and "final-engine" in ok.output
    bad = CliRunner().invoke(app, [*base, "--calibration-end", "1997-09-30", "--holdout-end", "1998-12-31"])
    assert bad.exit_code == 2
    assert "1998-12-31" in bad.output and "1998-06-30" in bad.output
