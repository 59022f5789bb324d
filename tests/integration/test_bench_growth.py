"""The growth benchmark at a toy size: each point runs in its own process on a real store (ingest, then
`score --all` on that store, then the engine alone), and the report has a plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.growth import plot, run_growth

pytestmark = pytest.mark.slow


def test_growth_points_run_the_real_paths_and_plot(tmp_path: Path) -> None:
    points = run_growth([3_000], timeout_s=900)
    by_what = {p["what"]: p for p in points}
    assert set(by_what) == {"ingest", "score-all", "scoring"}
    assert all("error" not in p for p in points), points
    ingest, score_all = by_what["ingest"], by_what["score-all"]
    assert ingest["rows"] > 3_000 * 2 and ingest["peak_rss_mb"] > 0
    assert score_all["scored"] == 3_000 and score_all["users_per_s"] > 0
    assert score_all["train_population"] == 3_000 and score_all["out_mb"] > 0
    png = plot(points, tmp_path / "growth.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
