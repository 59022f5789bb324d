"""`score --all` on Spark (local mode) beside the single-machine batch, on the same synthetic store, in one run.

A store of N users is built with the real ingest (not timed; see ``bench_ingest``). Then, each in a fresh child
process so that its memory is its own:
- ``score-all`` (the baseline): ``ValueService.train()`` and the single-machine streamed batch (``bench.growth``);
- ``spark``: `export store --parquet` (timed on its own), then ``score_on_spark`` on ``local[2]`` with the engine
  trained by the baseline, users/s and peak RSS of the Python driver and of the whole process tree (the JVM and
  its Python workers included), sampled from /proc.

Run: ``python -m bench.bench_spark [--quick]`` (quick: 5k users, all of them in the engine's training sample, the
store cached; at 20k, Spark alone was half of `bench --quick`; full: 1M) or
``python -m bench.bench_spark --sizes=1000000,10000000`` for growth points.
"""

from __future__ import annotations

import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import TreeRssSampler, main_for, result
from bench.growth import QUICK_TRAIN_USERS, _store_settings, run_child_point, run_point, synthetic_store
from domain.store.db import get_engine
from domain.store.parquet_export import export_store_parquet
from valuation.service import ValueService
from valuation.spark_batch import score_on_spark, spark_session

BENCH = "spark"
MASTER = "local[2]"
QUICK_USERS = 5_000


def spark_point(n_users: int, root: Path, master: str = MASTER) -> dict[str, Any]:
    """Export the store in ``root`` to Parquet, then score it on Spark, in this process."""

    settings = _store_settings(root)
    export = export_store_parquet(get_engine(settings), root / "parquet")
    job = ValueService(settings).scoring_job()  # the engine the baseline trained and saved
    spark = spark_session(master, app_name="shopguide-bench")
    try:
        with TreeRssSampler() as tree:
            summary = score_on_spark(job, root / "parquet", root / "scored", master=master, spark=spark)
    finally:
        spark.stop()
    return {
        "what": "spark",
        "n_users": n_users,
        "master": master,
        "seconds": summary.seconds,
        "users_per_s": summary.users_per_s,
        "scored": summary.users,
        "buckets": summary.buckets,
        "export_seconds": export.seconds,
        "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "tree_peak_rss_mb": tree.peak_mb,
        "parquet_in_mb": sum(f.stat().st_size for f in (root / "parquet").rglob("*") if f.is_file()) / 2**20,
    }


def _run_spark_point(n_users: int, root: Path, timeout_s: float) -> dict[str, Any]:
    code = (
        "import json, sys\nfrom pathlib import Path\nfrom bench.bench_spark import spark_point\n"
        "print('SPARK_POINT ' + json.dumps(spark_point(int(sys.argv[1]), Path(sys.argv[2]))))\n"
    )
    return run_child_point(code, [str(n_users), str(root)], "SPARK_POINT", "spark", n_users, timeout_s)


def compare(
    n_users: int, timeout_s: float = 4 * 3600, train_users: int | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(single-machine point, Spark point) on one store of ``n_users`` (deleted afterwards), the engine trained
    on a sample of ``train_users`` (default: ``SHOPGUIDE_VALUE_TRAIN_USERS``)."""
    root = Path(tempfile.mkdtemp(prefix=f"shopguide-bench-spark-{n_users}-"))
    try:
        synthetic_store(n_users, root, timeout_s)
        local = run_point("score-all", n_users, timeout_s, root, train_users=train_users)
        if "error" in local:
            raise RuntimeError(f"score --all failed: {local['error']}")
        remote = _run_spark_point(n_users, root, timeout_s)
        if "error" in remote:
            raise RuntimeError(f"Spark failed: {remote['error']}")
        return local, remote
    finally:
        shutil.rmtree(root, ignore_errors=True)


def rows_for(local: dict[str, Any], remote: dict[str, Any]) -> list[dict[str, Any]]:
    case = f"{remote['n_users']:,} users, Spark {remote['master']} vs single machine ({local['workers']} workers)"
    return [
        result(
            BENCH,
            case,
            "users_per_s",
            remote["users_per_s"],
            "users/s",
            "single machine",
            local["users_per_s"],
        ),
        result(BENCH, case, "seconds", remote["seconds"], "s", "single machine", local["seconds"]),
        result(
            BENCH,
            case,
            "tree_peak_rss",
            remote["tree_peak_rss_mb"],
            "MB",
            "single machine",
            local["scoring_tree_peak_rss_mb"],
        ),
        result(BENCH, case, "driver_peak_rss", remote["driver_peak_rss_mb"], "MB"),
        result(BENCH, case, "export_parquet_seconds", remote["export_seconds"], "s"),
    ]


def run(quick: bool) -> list[dict[str, Any]]:
    sizes = (
        [QUICK_USERS]
        if quick
        else [int(s) for s in os.environ.get("SHOPGUIDE_BENCH_SPARK_SIZES", "1000000").split(",")]
    )
    rows: list[dict[str, Any]] = []
    for n in sizes:
        started = time.perf_counter()
        local, remote = compare(n, train_users=QUICK_TRAIN_USERS if quick else None)
        rows.extend(rows_for(local, remote))
        print(f"spark bench {n:,} users: {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":
    chosen = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--sizes=")), None)
    if chosen:
        os.environ["SHOPGUIDE_BENCH_SPARK_SIZES"] = chosen
        sys.argv = [a for a in sys.argv if not a.startswith("--sizes=")]
    main_for(BENCH, run)
