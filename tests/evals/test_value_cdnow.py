"""`eval value` on real data (CDNOW sample and master, temporal and random splits).

Checks the reference BG/NBD figures, the naive rows, and the issue's acceptance bar for the final engine vs
BG/NBD x Gamma-Gamma on holdout spend (issue 17: Spearman +0.03, Gini +0.05, RMSE 1.02x, total 10%). Criteria the engine does not meet on a dataset/split are marked
``xfail(strict=True)`` with the measured value, so the file documents the honest state and flips to an error as
soon as a criterion starts passing (remove the mark then).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from valuation.datasets import load_cdnow
from valuation.evaluate import ValueEvalReport, run_value_eval

pytestmark = pytest.mark.slow

_REPORTS: dict[tuple[str, str], ValueEvalReport] = {}


def report_for(which: str, split: str) -> ValueEvalReport:
    if (which, split) not in _REPORTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            _REPORTS[(which, split)] = run_value_eval(load_cdnow(which), split=split)[0]
    return _REPORTS[(which, split)]


def spend(report: ValueEvalReport, model: str) -> dict[str, float]:
    return next(s.metrics for s in report.scores if s.model == model and s.target == "spend")


def purchases(report: ValueEvalReport, model: str) -> dict[str, float]:
    return next(s.metrics for s in report.scores if s.model == model and s.target == "purchases")


def test_sample_temporal_reproduces_the_reference_bgnbd_figures() -> None:
    r = report_for("sample", "temporal")
    assert (
        round(r.btyd["r"], 3),
        round(r.btyd["alpha"], 3),
        round(r.btyd["a"], 3),
        round(r.btyd["b"], 3),
    ) == (
        0.243,
        4.414,
        0.793,
        2.426,
    )
    p = purchases(r, "bgnbd-gg")
    assert p["total_pred"] == pytest.approx(1653, abs=1) and p["total_actual"] == 1882
    assert p["rmse"] == pytest.approx(1.608, abs=0.001)
    assert p["pearson"] == pytest.approx(0.626, abs=0.001)
    assert p["spearman"] == pytest.approx(0.449, abs=0.001)
    assert p["gini"] == pytest.approx(0.662, abs=0.002)
    s = spend(r, "bgnbd-gg")
    assert s["mae"] == pytest.approx(30.41, abs=0.01)
    assert s["rmse"] == pytest.approx(72.30, abs=0.01)
    assert s["pearson"] == pytest.approx(0.565, abs=0.001)
    assert s["spearman"] == pytest.approx(0.426, abs=0.001)
    assert s["gini"] == pytest.approx(0.638, abs=0.002)
    assert s["total_ratio"] == pytest.approx(0.844, abs=0.002)  # BG/NBD x GG under-predicts by ~16%


def test_naive_rows_show_why_mae_is_not_a_target() -> None:
    r = report_for("sample", "temporal")
    zero = spend(r, "predict-zero")
    assert zero["mae"] == pytest.approx(30.11, abs=0.01)
    assert zero["mae"] < spend(r, "bgnbd-gg")["mae"]  # predicting zero "wins" on MAE
    assert zero["gini"] == 0.0 and zero["top_decile_lift"] == pytest.approx(1.0)
    assert spend(r, "repeat-calibration-spend")["rmse"] > spend(r, "bgnbd-gg")["rmse"]


def _xfail(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason)


CRITERIA = ("spearman >= +0.03", "gini >= +0.05", "rmse <= 1.02x", "total within 10%")
# Measured with the backtested blend, tree size and spend ranking (P(buy) tilt and RFM mix), amounts at their own
# weight (issue 17); `shopguide eval value --dataset cdnow-<which> --split <split>`. The RFM mix (chosen by the
# engine's backtest on the training data) lifted the sample past the Spearman and Gini bars on every split; on
# master Gini stays just short.
SEASON = "the holdout has Q4 and a March peak; no rolling origin inside Jan-Sep 1997 shows them"
KNOWN_MISSES = {
    ("sample", "temporal", "total within 10%"): f"measured 0.84: {SEASON}",
    ("master", "temporal", "gini >= +0.05"): "measured +0.0475 (spend weight 0.9, RFM mix 0.5, untilted)",
    ("master", "temporal", "total within 10%"): f"measured 0.81: {SEASON}",
    ("master", "random", "gini >= +0.05"): "measured +0.0482 over 5 folds",
    ("master", "stratified", "gini >= +0.05"): "measured +0.0472 over 5 folds",
}


@pytest.mark.parametrize(
    ("which", "split", "criterion"),
    [
        pytest.param(w, s, c, marks=_xfail(KNOWN_MISSES[(w, s, c)]) if (w, s, c) in KNOWN_MISSES else ())
        for w in ("sample", "master")
        for s in ("temporal", "random", "stratified")
        for c in CRITERIA
    ],
)
def test_final_engine_beats_bgnbd_gg_on_holdout_spend(which: str, split: str, criterion: str) -> None:
    acc = report_for(which, split).acceptance
    assert acc is not None
    assert acc.passed[criterion], acc.model_dump()


def test_eval_value_cli_writes_json_and_plot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.cli  # noqa: F401  (registers the command groups)
    from ui.cli.app import app

    monkeypatch.setenv("SHOPGUIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOPGUIDE_LLM", "none")
    plot = tmp_path / "calibration.png"
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "value",
            "--dataset",
            "cdnow-sample",
            "--split",
            "stratified",
            "--json",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["split"] == "stratified" and payload["n_evaluated"] == 2357  # 5 folds: everyone once
    assert len(payload["fold_gains"]) == 5
    models = {s["model"] for s in payload["scores"]}
    assert {
        "predict-zero",
        "repeat-calibration-spend",
        "rfm-heuristic",
        "bgnbd-gg",
        "learned",
        "final-engine",
    } <= models
    assert payload["llm"]["status"].startswith("not run")
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_eval_value_on_a_transaction_csv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.cli  # noqa: F401
    from ui.cli.app import app

    monkeypatch.setenv("SHOPGUIDE_DATA_DIR", str(tmp_path / "data"))
    tx = load_cdnow("sample").transactions
    csv = tmp_path / "orders.csv"
    tx.assign(day=tx["date"].dt.strftime("%d/%m/%Y")).rename(columns={"user_id": "cust", "amount": "usd"})[
        ["cust", "day", "usd"]
    ].to_csv(csv, index=False)
    args = ["eval", "value", "--dataset", str(csv), "--customer-col", "cust", "--date-col", "day"]
    args += ["--amount-col", "usd", "--date-format", "%d/%m/%Y", "--calibration-end", "1997-09-30"]
    args += ["--holdout-end", "1998-06-30", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["dataset"] == "orders" and payload["n_customers"] == 2357
    assert round(payload["btyd"]["r"], 3) == 0.243  # the same data through the CSV path gives the same fit


def test_eval_value_cli_rejects_a_bad_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.cli  # noqa: F401
    from ui.cli.app import app

    monkeypatch.setenv("SHOPGUIDE_DATA_DIR", str(tmp_path / "data"))
    result = CliRunner().invoke(app, ["eval", "value", "--dataset", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert "no such transaction file" in result.output


def test_demo_shop_is_evaluated_against_its_hidden_next_year(demo_settings: object) -> None:
    """`--dataset demo`: calibration = the visible history, holdout = the truth file's next 12 months."""
    from valuation.datasets import load_demo

    data = load_demo(demo_settings)
    assert data.holdout_targets is not None and data.truth is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report, table = run_value_eval(data, split="temporal")
    truth = data.holdout_targets.reindex(table.index)
    assert (table["actual_spend"] == truth["spend"]).all()  # targets are the truth, not the history
    final, base = spend(report, "final-engine"), spend(report, "bgnbd-gg")
    assert final["spearman"] >= 0.7  # the demo bar, measured here on the engine's predicted spend
    assert final["spearman"] > base["spearman"] and final["gini"] > base["gini"]
