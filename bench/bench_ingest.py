"""Ingestion benchmark: `ingest_path` on 1M order lines (quick: 50k), rows/s.

Same-run baselines on slices of the same file, into copies of the same store:
- row by row: pydantic validation, then one INSERT and one commit per row (the naive loop);
- pandas ``to_sql`` (multi-row INSERTs, but no validation, no rejects, no FK checks, no idempotency).
Setup tables (users with PII encryption, products, orders) are ingested with the same path and reported too.

Run: ``python -m bench.bench_ingest [--quick]``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import main_for, peak_rss_mb, result
from domain.demo import generate_demo_shop
from domain.ingest import ingest_path
from domain.ingest.kinds import line_row
from domain.models import OrderLine
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine

BENCH = "ingest"


def write_synthetic(
    out_dir: Path, *, n_users: int, n_orders: int, n_products: int = 500, seed: int = 1, chunk: int = 200_000
) -> dict[str, Path | int]:
    """Stream CSVs of users, orders and order lines (1-4 per order) in chunks: memory stays flat at any size."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)

    demo = generate_demo_shop(out_dir / "catalog", seed=seed, n_users=1, n_products=n_products)
    users, orders, lines = out_dir / "users.csv", out_dir / "orders.csv", out_dir / "order_lines.csv"
    with users.open("w", encoding="utf-8") as handle:
        handle.write("user_id,signup_at,language,city,name,phone,email,address\n")
        for start in range(0, n_users, chunk):
            ids = np.arange(start, min(start + chunk, n_users))
            phones = rng.integers(0, 10**8, size=len(ids))
            handle.write(
                "".join(
                    f"u{i:08d},2024-0{1 + i % 9}-1{i % 10}T08:00:00,{'zh' if i % 5 < 3 else 'en'},Shanghai,"
                    f"用户{i},138{p:08d},user{i}@example.com,上海市浦东新区张杨路{i % 2000}号\n"
                    for i, p in zip(ids.tolist(), phones.tolist(), strict=True)
                )
            )
    n_lines = 0
    with orders.open("w", encoding="utf-8") as o_handle, lines.open("w", encoding="utf-8") as l_handle:
        o_handle.write("order_id,user_id,created_at,status\n")
        l_handle.write("order_id,line_no,product_id,quantity,unit_price,discount\n")
        for start in range(0, n_orders, chunk):
            ids = np.arange(start, min(start + chunk, n_orders))
            buyers = rng.integers(0, n_users, size=len(ids))
            days = rng.integers(0, 540, size=len(ids))
            counts = rng.choice(4, size=len(ids), p=[0.55, 0.25, 0.12, 0.08]) + 1
            o_handle.write(
                "".join(
                    f"o{i:09d},u{b:08d},{np.datetime64('2025-01-01') + d}T12:00:00,delivered\n"
                    for i, b, d in zip(ids.tolist(), buyers.tolist(), days.tolist(), strict=True)
                )
            )
            total = int(counts.sum())
            products = rng.integers(1, n_products + 1, size=total)
            qty = rng.integers(1, 4, size=total)
            price = rng.integers(10, 3000, size=total)
            rows, k = [], 0
            for i, c in zip(ids.tolist(), counts.tolist(), strict=True):
                for line_no in range(1, c + 1):
                    rows.append(f"o{i:09d},{line_no},p{products[k]:05d},{qty[k]},{price[k]}.0,0\n")
                    k += 1
            l_handle.write("".join(rows))
            n_lines += total
    return {
        "products": demo.files["products"],
        "users": users,
        "orders": orders,
        "order_lines": lines,
        "n_lines": n_lines,
    }


def _slice_csv(source: Path, target: Path, n_rows: int) -> Path:
    with source.open("r", encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for i, line in enumerate(src):
            if i > n_rows:
                break
            dst.write(line)
    return target


def _row_by_row(settings: Any, path: Path) -> tuple[int, float]:
    """The naive loop: parse, validate, INSERT and COMMIT one row at a time."""
    import csv

    engine = get_engine(settings)
    started = time.perf_counter()
    n = 0
    with path.open(encoding="utf-8") as handle:
        for raw in csv.DictReader(handle):
            line = OrderLine.model_validate(raw)
            with engine.begin() as conn:
                conn.execute(schema.order_lines.insert().values(**line_row(line)))
            n += 1
    return n, time.perf_counter() - started


def _to_sql(path: Path, db: Path) -> tuple[int, float]:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{db}")
    started = time.perf_counter()
    frame = pd.read_csv(path)
    frame["amount"] = frame["quantity"] * frame["unit_price"] - frame["discount"]
    frame.to_sql("order_lines", engine, if_exists="append", index=False, chunksize=5000, method="multi")
    engine.dispose()
    return len(frame), time.perf_counter() - started


def run(quick: bool) -> list[dict[str, Any]]:
    # Quick: the same batches (10k rows) and baselines, fewer of them; to_sql was 7 of its 19 s at 50k rows.
    n_orders = 29_000 if quick else 580_000  # x ~1.73 lines per order: ~50k / ~1M order lines
    n_users = 2_000 if quick else 20_000
    slice_naive = 2_000 if quick else 10_000
    slice_pandas = 20_000 if quick else 200_000
    rows: list[dict[str, Any]] = []
    root = Path(tempfile.mkdtemp(prefix="shopguide-bench-ingest-"))
    try:
        files = write_synthetic(root / "files", n_users=n_users, n_orders=n_orders)
        settings = Settings(data_dir=root / "store", llm="none", database_url="", encryption_key="")
        for kind in ("products", "users", "orders"):
            summary = ingest_path(settings, files[kind], kind, progress=False)  # type: ignore[arg-type]
            rows.append(
                result(
                    BENCH,
                    f"{kind} ({summary.read:,} rows)",
                    "ingest_throughput",
                    summary.rows_per_s,
                    "rows/s",
                )
            )
        get_engine(settings).dispose()
        baseline_dir = root / "baseline_store"
        shutil.copytree(root / "store", baseline_dir)
        baseline_settings = Settings(data_dir=baseline_dir, llm="none", database_url="", encryption_key="")
        naive_n, naive_s = _row_by_row(
            baseline_settings, _slice_csv(files["order_lines"], root / "slice_naive.csv", slice_naive)
        )  # type: ignore[arg-type]
        pandas_n, pandas_s = _to_sql(
            _slice_csv(files["order_lines"], root / "slice_pandas.csv", slice_pandas), root / "pandas.db"
        )  # type: ignore[arg-type]

        cpu_started = time.process_time()
        summary = ingest_path(settings, files["order_lines"], "order_lines", progress=False)  # type: ignore[arg-type]
        cpu_s = time.process_time() - cpu_started
        case = f"order_lines ({summary.read:,} rows)"
        assert summary.stored == files["n_lines"] and summary.rejected == 0
        rows.append(
            result(
                BENCH,
                case,
                "ingest_throughput",
                summary.rows_per_s,
                "rows/s",
                f"row-by-row commit ({naive_n:,} rows)",
                naive_n / naive_s,
            )
        )
        rows.append(
            result(
                BENCH,
                case,
                "ingest_throughput_vs_pandas",
                summary.rows_per_s,
                "rows/s",
                f"pandas.to_sql, no validation ({pandas_n:,} rows)",
                pandas_n / pandas_s,
            )
        )
        # Rows per CPU-second of this process: the figure that does not depend on how busy the shared machine is.
        rows.append(result(BENCH, case, "ingest_rows_per_cpu_second", summary.read / cpu_s, "rows/cpu-s"))
        again = ingest_path(settings, files["order_lines"], "order_lines", progress=False)  # type: ignore[arg-type]
        assert again.stored == 0 and again.updated == summary.read
        rows.append(result(BENCH, case, "reingest_throughput (all upserts)", again.rows_per_s, "rows/s"))
        rows.append(result(BENCH, case, "peak_rss", peak_rss_mb(), "MB"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main_for(BENCH, run)
