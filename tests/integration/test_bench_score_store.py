"""`bench.score_store` times `score --all` on a real store it did not build: every user scored over two worker
processes, their CPU counted with this process's, the saved engine reused on the second run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bench.growth import ingest_point
from bench.score_store import score_store

pytestmark = pytest.mark.slow


def test_score_store_times_the_whole_process_tree(tmp_path: Path) -> None:
    ingest_point(2_000, tmp_path)
    first = score_store(tmp_path, workers=2, out=tmp_path / "scores.parquet", chunk_users=500)
    assert first["users"] == 2_000 and first["workers"] == 2
    assert first["workers_cpu_s"] > 0 and first["users_per_cpu_s"] > 0 and first["tree_peak_rss_mb"] > 0
    assert len(pd.read_parquet(tmp_path / "scores.parquet")) == 2_000
    engine_file = tmp_path / "store" / "models" / "value_engine" / "engine.pkl"
    trained_at = engine_file.stat().st_mtime
    again = score_store(tmp_path, workers=2, chunk_users=500)
    assert again["users"] == 2_000 and again["out"] is None
    assert engine_file.stat().st_mtime == trained_at  # the saved engine is reused, not retrained
