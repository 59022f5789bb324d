"""`shopguide setup --data DIR` on a folder holding only a shop's own English catalog (foreign column names, `$`
prices) and an invoice-style transactions export: no demo data anywhere, then a running app whose chat recommends
that shop's products and whose staff console shows value cards for its customers."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from sqlalchemy import select

from domain.privacy.tokens import issue_widget_token
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine
from evals.live_server import LiveServer, shop_settings

pytestmark = [pytest.mark.slow]

CATEGORIES = {
    "Headphones": ("Sony", "JBL", "Boat", "Sennheiser"),
    "Smart Watches": ("Amazfit", "Garmin", "Noise", "Fossil"),
    "Coffee": ("Lavazza", "Illy", "Starbucks", "Blue Tokai"),
    "Running Shoes": ("Asics", "Brooks", "Saucony", "New Balance"),
    "Laptops": ("Lenovo", "Dell", "Acer", "Asus"),
}
NOUNS = {
    "Headphones": "Wireless Headphones",
    "Smart Watches": "Smart Watch",
    "Coffee": "Coffee Beans 1kg",
    "Running Shoes": "Running Shoes",
    "Laptops": "Laptop 14 inch",
}
BASE_PRICE = {"Headphones": 60, "Smart Watches": 120, "Coffee": 18, "Running Shoes": 90, "Laptops": 700}


def write_shop(folder: Path) -> tuple[dict[str, str], set[str]]:
    """catalog.csv and invoices.csv as a shop would export them; returns (sku -> category, customer ids)."""
    rng = np.random.default_rng(15)
    folder.mkdir(parents=True)
    skus: dict[str, tuple[str, float]] = {}
    with (folder / "catalog.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            [
                "SKU",
                "Product Name",
                "Sub Category",
                "Brand",
                "Price",
                "Discount",
                "Rating",
                "Feature",
                "Image",
            ]
        )
        for category, brands in CATEGORIES.items():
            for b, brand in enumerate(brands):
                for model in range(2):
                    sku = f"{category[:2].upper()}-{b}{model}0"
                    price = round(BASE_PRICE[category] * (1 + b * 0.6 + model * 0.3), 2)
                    skus[sku] = (category, price)
                    rating = "" if (b + model) % 5 == 0 else f"{3.5 + 0.1 * (b + model):.1f}"
                    out.writerow(
                        [sku, f"{brand} {sku} {NOUNS[category]}", category, brand, f"${price:,.2f}",
                         f"{5 * model}%", rating, f"<p>{brand} <b>quality</b></p>", f"https://img/{sku}.jpg"]
                    )  # fmt: skip
    customers: set[str] = set()
    start = datetime(2023, 1, 2)
    with (folder / "invoices.csv").open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(
            ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"]
        )
        invoice = 500000
        codes = sorted(skus)
        for c in range(120):
            customer = f"{12000 + c}.0"  # as pandas exports a float column
            customers.add(str(12000 + c))
            favourite = codes[int(rng.integers(len(codes)))]
            for _ in range(int(rng.integers(1, 9))):
                invoice += 1
                when = start + timedelta(days=int(rng.integers(0, 700)), minutes=int(rng.integers(0, 600)))
                picks = [
                    favourite,
                    *(codes[int(i)] for i in rng.integers(0, len(codes), size=rng.integers(0, 3))),
                ]
                for code in picks:
                    qty = int(rng.integers(1, 4))
                    out.writerow(
                        [invoice, code, "", qty, when.strftime("%m/%d/%Y %H:%M"), skus[code][1], customer]
                    )
                if rng.random() < 0.08:  # a return of the first line, as its own "C" invoice
                    out.writerow([f"C{invoice}", picks[0], "", -1, (when + timedelta(days=3)).strftime("%m/%d/%Y %H:%M"),
                                  skus[picks[0]][1], customer])  # fmt: skip
        for n in range(5):  # walk-in sales without a customer: rejected with a reason
            out.writerow([invoice + 1 + n, codes[n], "", 1, "12/01/2024 10:00", skus[codes[n]][1], ""])
    return {sku: category for sku, (category, _) in skus.items()}, customers


@pytest.fixture(scope="module")
def own_shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, str], set[str], str]:
    root = tmp_path_factory.mktemp("own_shop")
    categories, customers = write_shop(root / "files")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHOPGUIDE_")},
        "SHOPGUIDE_DATA_DIR": str(root / "data"),
        "SHOPGUIDE_LLM": "none",
        "OPENBLAS_NUM_THREADS": "1",
    }
    done = subprocess.run(
        [str(Path(sys.executable).parent / "shopguide"), "setup", "--data", str(root / "files"), "--no-prepare-llm"],
        env=env, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return shop_settings(root / "data"), categories, customers, done.stdout + done.stderr


@pytest.fixture(scope="module")
def server(own_shop) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    live = LiveServer(own_shop[0].data_dir, demo=False).start()  # a real shop runs in production mode
    yield live
    live.stop()


def test_setup_loads_only_the_shops_own_data(own_shop) -> None:  # type: ignore[no-untyped-def]
    settings, categories, customers, log = own_shop
    assert "catalog.csv [products]" in log and "invoices.csv [transactions]" in log
    assert "customer id missing" not in log  # reasons go to the rejects file, the log points at it
    assert not (settings.data_dir / "demo").exists()
    with get_engine(settings).connect() as conn:
        products = {r.product_id: r for r in conn.execute(select(schema.products))}
        users = set(conn.execute(select(schema.users.c.user_id)).scalars())
        statuses = set(conn.execute(select(schema.orders.c.status)).scalars())
        scored = set(conn.execute(select(schema.value_assessments.c.user_id)).scalars())
    assert set(products) == set(categories)  # every catalog row, nothing from anywhere else
    assert all(p.price_tier and p.title_en and p.title_zh == "" for p in products.values())
    assert users == customers and scored == customers
    assert "returned" in statuses
    rejects = (settings.data_dir / "rejects" / "invoices.csv.rejects.jsonl").read_text(encoding="utf-8")
    assert rejects.count("customer id missing") == 5


def test_chat_recommends_the_shops_products(own_shop, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    settings, categories, customers, _ = own_shop
    token = issue_widget_token(settings, sorted(customers)[0], ttl_s=600)
    with httpx.Client(base_url=server.url, timeout=180) as client:
        response = client.post(
            "/api/v1/chat",
            json={"message": "Recommend wireless headphones"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["reply"] and not body["error"]
    ids = [p["product_id"] for p in body["products"]]
    assert ids and set(ids) <= set(categories)
    assert categories[ids[0]] == "Headphones"


def test_staff_console_shows_value_cards_for_its_customers(own_shop) -> None:  # type: ignore[no-untyped-def]
    from ui.services import UiContext
    from ui.staff_data import find_users, load_view, segment_table

    settings, categories, customers, _ = own_shop
    ui = UiContext(settings)
    customer = sorted(customers)[1]
    hits = find_users(ui, customer)
    assert [h.user_id for h in hits] == [customer]
    view = load_view(ui, "staff", hits[0], "en")
    assert view.assessment is not None, view.assessment_error
    assert 0 <= view.assessment.score <= 100 and view.assessment.reasons
    assert view.history["n_orders"] > 0 and view.history["recent_orders"][0]["items"][0]["title"]
    assert {r["product_id"] for r in view.recommendations} <= set(categories)
    assert len(segment_table(ui, "en")) > 0
