"""``generate_demo_shop``: write a deterministic bilingual demo shop as files, plus the hidden truth of the next year.

Files (loaded through the same ingestion path as real data): ``products.jsonl``, ``users.csv``, ``orders.csv``,
``order_lines.csv``, ``reviews.jsonl``, ``events.csv``; ``truth.parquet`` (never ingested) and ``manifest.json``.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel

from domain.demo.people import DemoUser, generate_users
from domain.demo.products import generate_products
from domain.demo.simulate import Counters, ProductIndex, SimulationOutput, line_amounts, simulate_user
from domain.demo.vocab import CATEGORIES

HISTORY_START = datetime(2025, 1, 1)
HISTORY_END = datetime(2026, 7, 1)  # exclusive: the history covers 2025-01-01 .. 2026-06-30
FUTURE_END = datetime(2027, 7, 1)  # exclusive: the hidden next 12 months

# Ingestion order respects foreign keys.
KIND_ORDER: tuple[str, ...] = ("products", "users", "orders", "order_lines", "reviews", "events")
FILE_NAMES: dict[str, str] = {
    "products": "products.jsonl",
    "users": "users.csv",
    "orders": "orders.csv",
    "order_lines": "order_lines.csv",
    "reviews": "reviews.jsonl",
    "events": "events.csv",
}
COLUMNS: dict[str, list[str]] = {
    "users": ["user_id", "signup_at", "language", "city", "name", "phone", "email", "address"],
    "orders": ["order_id", "user_id", "created_at", "status"],
    "order_lines": ["order_id", "line_no", "product_id", "quantity", "unit_price", "discount"],
    "events": ["event_id", "user_id", "kind", "ts", "session_id", "product_id", "query"],
}


class DemoManifest(BaseModel):
    out_dir: Path
    seed: int
    n_users: int
    n_products: int
    files: dict[str, Path]  # kind -> file, in ingestion order
    truth_path: Path
    counts: dict[str, int]
    history_start: date
    history_end: date  # inclusive last day of the visible history
    future_end: date  # inclusive last day of the hidden truth period

    def ordered_files(self) -> list[tuple[str, Path]]:
        return [(kind, self.files[kind]) for kind in KIND_ORDER if kind in self.files]


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_csv(path: Path, columns: list[str], rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])


def generate_demo_shop(
    out_dir: Path, seed: int = 7, n_users: int = 3000, n_products: int = 600
) -> DemoManifest:
    """Generate the demo shop into ``out_dir`` (created); same seed and sizes give byte-identical files."""
    out_dir = Path(out_dir).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    history_days = (HISTORY_END - HISTORY_START).days
    future_days = (FUTURE_END - HISTORY_START).days

    products = generate_products(rng, n_products)
    brands_by_category = [[b.en for b in c.brands] for c in CATEGORIES]
    users = generate_users(rng, n_users, history_days, brands_by_category)
    index = ProductIndex(products)

    history = SimulationOutput()
    counters = Counters()
    for user in users:
        simulate_user(
            rng, user, index, HISTORY_START, 0.0, history_days, counters, history, with_activity=True
        )

    # The hidden next 12 months, from the same traits; its own counters so the ids never collide with history.
    future_counters = Counters(order=10_000_000)
    truth_rows = []
    category_of = {p.product_id: p.category.slug for p in products}
    for user in users:
        future = SimulationOutput()
        simulate_user(
            rng,
            user,
            index,
            HISTORY_START,
            history_days,
            future_days,
            future_counters,
            future,
            with_activity=False,
        )
        truth_rows.append(_truth_row(user, future, history_days, category_of))

    user_rows = [
        {
            "user_id": u.user_id,
            "signup_at": (HISTORY_START + timedelta(days=u.signup_day)).replace(microsecond=0).isoformat(),
            "language": u.language,
            "city": u.city,
            **u.pii,
        }
        for u in users
    ]
    files = {kind: out_dir / name for kind, name in FILE_NAMES.items()}
    _write_jsonl(files["products"], [p.row for p in products])
    _write_csv(files["users"], COLUMNS["users"], user_rows)
    _write_csv(files["orders"], COLUMNS["orders"], history.orders)
    _write_csv(files["order_lines"], COLUMNS["order_lines"], history.lines)
    _write_jsonl(files["reviews"], history.reviews)
    _write_csv(files["events"], COLUMNS["events"], history.events)
    truth_path = out_dir / "truth.parquet"
    pd.DataFrame(truth_rows).to_parquet(truth_path, index=False)

    manifest = DemoManifest(
        out_dir=out_dir,
        seed=seed,
        n_users=n_users,
        n_products=n_products,
        files=files,
        truth_path=truth_path,
        counts={
            "products": len(products),
            "users": len(users),
            "orders": len(history.orders),
            "order_lines": len(history.lines),
            "reviews": len(history.reviews),
            "events": len(history.events),
        },
        history_start=HISTORY_START.date(),
        history_end=(HISTORY_END - timedelta(days=1)).date(),
        future_end=(FUTURE_END - timedelta(days=1)).date(),
    )
    (out_dir / "manifest.json").write_text(manifest.model_dump_json(indent=2), encoding="utf-8")
    return manifest


def _truth_row(
    user: DemoUser, future: SimulationOutput, history_days: float, category_of: dict[str, str]
) -> dict[str, object]:
    paid_orders = [o for o in future.orders if o["status"] not in ("cancelled", "returned")]
    paid_ids = {str(o["order_id"]) for o in paid_orders}
    amounts = line_amounts([line for line in future.lines if line["order_id"] in paid_ids])
    lines_by_order: dict[str, list[str]] = {}
    for line in future.lines:
        lines_by_order.setdefault(str(line["order_id"]), []).append(str(line["product_id"]))
    future_products = [pid for o in future.orders for pid in lines_by_order.get(str(o["order_id"]), [])]
    first_products = lines_by_order.get(str(future.orders[0]["order_id"]), []) if future.orders else []
    first_30d = any(
        datetime.fromisoformat(str(o["created_at"])) < HISTORY_END + timedelta(days=30) for o in future.orders
    )
    return {
        "user_id": user.user_id,
        "archetype": user.archetype,
        "language": user.language,
        "purchase_rate": user.purchase_rate,
        "spend_level": user.spend_level,
        "price_sensitivity": user.price_sensitivity,
        "churn_hazard": user.churn_hazard,
        "satisfaction": user.satisfaction,
        "signup_day": user.signup_day,
        "dropout_day": user.dropout_day if np.isfinite(user.dropout_day) else None,
        "alive_at_cutoff": bool(user.dropout_day > history_days),
        "favourite_categories": [CATEGORIES[c].slug for c in user.favourite_categories],
        "favourite_brands": list(user.favourite_brands),
        "future_spend_12m": round(float(sum(amounts.values())), 2),
        "future_orders_12m": len(paid_orders),
        "future_categories": sorted({category_of[pid] for pid in future_products}),
        "future_product_ids": sorted(set(future_products)),
        "first_future_product_ids": first_products,
        # churned: no purchase at all in the next 12 months (the observable definition).
        "churned": len(future.orders) == 0,
        "future_purchase_30d": bool(first_30d),
    }
