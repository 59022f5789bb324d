"""Latency of one recommendation call (candidates + re-rank + reasons, no LLM) vs plain hybrid search.

Runs on the demo shop (3,000 users, 600 products) built once into a cache directory (generate → ingest → product
index → value assessments), so re-runs only measure. Cases, all warm (after one call that loads the index, the
embedder and the catalog snapshot; the cold call is reported separately):
- ``user+request``: a shopper with history asks for something (hybrid retrieval + personal/value re-ranking);
- ``user, no request``: "recommend me something" (history candidates + searches of recent queries);
- ``anonymous+request``: no user data.
Baseline, same run, same queries: ``ShopIndex.search_products(query, k=60)``, the retrieval step alone.
Target: p95 < 100 ms without an LLM.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import main_for, result
from domain.demo import generate_demo_shop
from domain.ingest import ingest_demo
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import orders
from recommend.recommender import Recommender
from valuation.service import get_value_service
from vectorstore.index import get_shop_index

QUERIES = (
    "running shoes", "跑步鞋", "noise cancelling headphones", "降噪耳机", "coffee beans", "咖啡",
    "gift for my mum under 500", "送妈妈的礼物", "laptop for work", "护肤品", "watch", "儿童玩具",
)  # fmt: skip
CACHE = Path(os.environ.get("SHOPGUIDE_BENCH_CACHE", "/tmp/shopguide-bench")) / "recs"


def _store() -> Any:
    """Settings over a cached, fully prepared demo store (built on first use)."""

    settings = Settings(data_dir=CACHE / "data", llm="none", database_url="", chroma_url="", chroma_path=None)
    ready = CACHE / "ready"
    if not ready.exists():
        generate_demo_shop(CACHE / "demo")
        ingest_demo(settings, CACHE / "demo", progress=False)
        get_shop_index(settings).refresh(progress=False, history=False)
        get_value_service(settings).assess_all(progress=False)
        ready.write_text("ok")
    return settings


def _pcts(samples: list[float]) -> tuple[float, float]:
    arr = np.array(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def run(quick: bool) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    settings = _store()
    n = 60 if quick else 300
    with get_engine(settings).connect() as conn:
        users = [
            r[0]
            for r in conn.execute(
                select(orders.c.user_id)
                .group_by(orders.c.user_id)
                .having(func.count() >= 2)
                .order_by(orders.c.user_id)
            )
        ]
    rng = np.random.default_rng(7)
    picked = [str(u) for u in rng.choice(users, n, replace=len(users) < n)]
    queries = [QUERIES[i % len(QUERIES)] for i in range(n)]

    rec = Recommender(settings)
    index = get_shop_index(settings)
    started = time.perf_counter()
    rec.recommend(user_id=picked[0], query=queries[0], k=6)  # cold: snapshot, index table, embedder
    cold = time.perf_counter() - started

    timings: dict[str, list[float]] = {
        "user+request": [],
        "user, no request": [],
        "anonymous+request": [],
        "search": [],
    }
    for uid, q in zip(picked, queries, strict=True):
        for case, kwargs in (
            ("user+request", {"user_id": uid, "query": q}),
            ("user, no request", {"user_id": uid, "query": None}),
            ("anonymous+request", {"user_id": None, "query": q}),
        ):
            t0 = time.perf_counter()
            out = rec.recommend(k=6, **kwargs)  # type: ignore[arg-type]
            timings[case].append(time.perf_counter() - t0)
            assert out, (case, uid, q)
        t0 = time.perf_counter()
        index.search_products(q, k=60)
        timings["search"].append(time.perf_counter() - t0)

    base50, base95 = _pcts(timings["search"])
    rows = [result("recs", "cold first call", "latency", cold * 1000, "ms")]
    for case in ("user+request", "user, no request", "anonymous+request"):
        p50, p95 = _pcts(timings[case])
        rows.append(result("recs", case, "p50", p50, "ms", "hybrid search k=60", base50, calls=n))
        rows.append(result("recs", case, "p95", p95, "ms", "hybrid search k=60", base95, calls=n))
    return rows


if __name__ == "__main__":
    main_for("recs", run)
