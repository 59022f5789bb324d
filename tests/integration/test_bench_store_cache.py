"""Benchmarks that score a small synthetic store build it once: the second one copies the cached store (no
second ingest), and each copy is its own (what one benchmark writes, another does not see)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bench import growth


def _users(root: Path) -> int:
    with sqlite3.connect(root / "store" / "shopguide.db") as conn:
        return int(conn.execute("select count(*) from users").fetchone()[0])


@pytest.mark.slow
def test_a_small_store_is_ingested_once_and_copied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(growth, "STORE_CACHE", tmp_path / "cache")
    first = growth.synthetic_store(400, tmp_path / "a", timeout_s=600)
    assert first["what"] == "ingest" and first["n_users"] == 400 and "error" not in first
    assert _users(tmp_path / "a") == 400

    ingests: list[str] = []
    monkeypatch.setattr(growth, "run_point", lambda what, *args, **kwargs: ingests.append(what) or {})
    second = growth.synthetic_store(400, tmp_path / "b", timeout_s=600)
    assert ingests == [] and second == first  # copied from the cache, not ingested again
    with sqlite3.connect(tmp_path / "a" / "store" / "shopguide.db") as conn:
        conn.execute("delete from users")
    assert _users(tmp_path / "b") == 400 and _users(tmp_path / "a") == 0


def test_a_changed_generator_is_a_new_cache_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    before = growth._store_cache_key(400)
    monkeypatch.setattr(growth, "_STORE_SOURCES", (*growth._STORE_SOURCES, "bench/growth.py"))
    assert growth._store_cache_key(400) != before and before.startswith("400-")
