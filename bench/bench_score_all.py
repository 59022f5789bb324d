"""`shopguide score --all` end to end on a store of synthetic users: the product's batch path, not the model alone.

A store of N users (PII encrypted), N orders and ~1.9N order lines is built with the real ingest (not timed here;
``bench_ingest`` and the growth curves time it), then one child process runs ``ValueService.train()`` and the
streamed ``assess_all`` to a Parquet file and the ``value_assessments`` table: features from the store, the
LightGBM engine, five signed reasons and a templated explanation per user in their language, upserts.

Baseline in the same run: the engine alone on N in-memory synthetic users (``bench_scoring.growth_point``), i.e.
what the store reads, the reasons, the sentences and the writes cost on top of the model.

Run: ``python -m bench.bench_score_all [--quick]`` (quick: 20k users, the engine trained on 5k of them, the store
built once and cached; full: 1M).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench import main_for, result
from bench.growth import QUICK_TRAIN_USERS, run_point, synthetic_store

BENCH = "score_all"


def run(quick: bool) -> list[dict[str, Any]]:
    n_users = 20_000 if quick else 1_000_000
    timeout_s = 3600.0
    root = Path(tempfile.mkdtemp(prefix="shopguide-bench-score-all-"))
    try:
        synthetic_store(n_users, root, timeout_s)
        point = run_point(
            "score-all", n_users, timeout_s, root, train_users=QUICK_TRAIN_USERS if quick else None
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if "error" in point:
        raise RuntimeError(f"score --all failed: {point['error']}")
    engine = run_point("scoring", n_users, timeout_s)
    case = f"{n_users:,} users in SQLite, {point['train_population']:,} in the training population"
    return [
        result(
            BENCH,
            case,
            "score_all_users_per_s",
            point["users_per_s"],
            "users/s",
            "engine alone, in memory",
            engine.get("users_per_s"),
        ),
        result(BENCH, case, "score_all_seconds", point["seconds"], "s"),
        result(BENCH, case, "train_seconds", point["train_seconds"], "s"),
        result(BENCH, case, "peak_rss", point["peak_rss_mb"], "MB"),
        result(BENCH, case, "parquet_size", point["out_mb"], "MB"),
    ]


if __name__ == "__main__":
    main_for(BENCH, run)
