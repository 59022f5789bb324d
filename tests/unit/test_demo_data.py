"""The demo shop: deterministic, big and varied enough, bilingual, and driven by hidden traits that differ by archetype."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from domain.demo import FILE_NAMES, DemoManifest, generate_demo_shop
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import table_counts, transactions_frame

CJK = re.compile(r"[\u4e00-\u9fff]")


def read_kind(demo_dir: Path, kind: str) -> pd.DataFrame:
    path = demo_dir / FILE_NAMES[kind]
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def manifest(demo_dir: Path) -> DemoManifest:
    return DemoManifest.model_validate_json((demo_dir / "manifest.json").read_text(encoding="utf-8"))


def test_same_seed_gives_identical_files_and_another_seed_differs(tmp_path: Path) -> None:
    first = generate_demo_shop(tmp_path / "a", seed=11, n_users=150, n_products=80)
    second = generate_demo_shop(tmp_path / "b", seed=11, n_users=150, n_products=80)
    third = generate_demo_shop(tmp_path / "c", seed=12, n_users=150, n_products=80)
    for kind, path in first.ordered_files():
        assert path.read_bytes() == second.files[kind].read_bytes(), kind
    assert first.counts == second.counts
    pd.testing.assert_frame_equal(pd.read_parquet(first.truth_path), pd.read_parquet(second.truth_path))
    assert first.files["orders"].read_bytes() != third.files["orders"].read_bytes()


def test_catalog_covers_categories_tiers_brands_promotions_and_both_languages(demo_dir: Path) -> None:
    products = read_kind(demo_dir, "products")
    assert len(products) >= 600 and products["product_id"].is_unique and products["sku"].is_unique
    assert products["category"].nunique() >= 20
    assert (products["category_zh"].map(lambda s: bool(CJK.search(s)))).all()
    assert set(products["price_tier"]) == {"budget", "mid", "premium", "luxury"}
    assert products["title_zh"].map(lambda s: bool(CJK.search(s))).all()
    assert not products["title_en"].map(lambda s: bool(CJK.search(s))).any()
    assert products["sku"].str.fullmatch(r"[A-Z]{2}-\d{2,3}").all()
    # Some brands sell in several tiers; some are luxury-only.
    tiers_per_brand = products.groupby("brand")["price_tier"].nunique()
    assert (tiers_per_brand >= 2).sum() >= 10
    luxury_only = products.groupby("brand")["price_tier"].agg(lambda t: set(t) == {"luxury"})
    assert {"Rolex", "La Mer"} & set(luxury_only[luxury_only].index)
    median_price = products.groupby("price_tier")["price"].median()
    assert median_price["budget"] < median_price["mid"] < median_price["premium"] < median_price["luxury"]
    promoted = products[products["on_promotion"]]
    assert 0.1 < len(promoted) / len(products) < 0.6
    assert (promoted["price"] < promoted["list_price"]).all()
    assert (products["stock"] == 0).sum() >= 5


def test_users_are_bilingual_with_realistic_fake_pii(demo_dir: Path) -> None:
    users = read_kind(demo_dir, "users")
    assert len(users) >= 3000
    zh_share = (users["language"] == "zh").mean()
    assert 0.5 < zh_share < 0.7
    zh = users[users["language"] == "zh"]
    assert zh["phone"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert zh["name"].map(lambda s: bool(CJK.search(s))).all()
    assert users["email"].str.contains("@").all()
    assert users["email"].is_unique or users["email"].duplicated().mean() < 0.01


def test_history_spans_18_months_with_reviews_searches_and_funnels(
    demo_dir: Path, manifest: DemoManifest
) -> None:
    orders = read_kind(demo_dir, "orders")
    created = pd.to_datetime(orders["created_at"])
    assert created.min() >= pd.Timestamp("2025-01-01") and created.max() < pd.Timestamp("2026-07-01")
    assert (created.max() - created.min()).days > 500
    assert {"delivered", "returned", "cancelled"} <= set(orders["status"])
    reviews = read_kind(demo_dir, "reviews")
    assert set(reviews["language"]) == {"zh", "en"}
    zh_reviews = reviews[reviews["language"] == "zh"]
    assert zh_reviews["text"].map(lambda s: bool(CJK.search(s))).all()
    assert (reviews["rating"] <= 2).sum() > 50  # some complaints
    events = read_kind(demo_dir, "events")
    assert set(events["kind"]) == {"view", "click", "search", "add_to_cart", "purchase"}
    searches = events[events["kind"] == "search"]
    assert searches["query"].map(lambda s: bool(CJK.search(s))).mean() > 0.3
    kinds = events["kind"].value_counts()
    assert kinds["view"] > kinds["click"] > kinds["add_to_cart"] > 0 and kinds["purchase"] > 0
    assert manifest.counts["orders"] == len(orders) and manifest.counts["events"] == len(events)


def test_archetypes_differ_in_history_and_in_the_hidden_future(demo_dir: Path) -> None:
    truth = pd.read_parquet(demo_dir / "truth.parquet")
    assert len(truth) >= 3000 and truth["user_id"].is_unique
    assert set(truth["archetype"]) == {
        "loyal_big_spender",
        "regular",
        "bargain_hunter",
        "new",
        "lapsed",
        "window_shopper",
    }
    spend = truth.groupby("archetype")["future_spend_12m"].mean()
    assert spend["loyal_big_spender"] > 2 * spend["regular"] > 0
    assert spend["regular"] > spend["bargain_hunter"] > spend["window_shopper"]
    assert spend["lapsed"] == 0 and truth.loc[truth["archetype"] == "lapsed", "churned"].all()
    assert truth.loc[truth["archetype"] == "loyal_big_spender", "churned"].mean() < 0.2
    assert 0.1 < truth["future_purchase_30d"].mean() < 0.6
    buyers = truth[truth["future_orders_12m"] > 0]
    assert buyers["first_future_product_ids"].map(len).min() >= 1
    assert buyers["future_categories"].map(len).min() >= 1

    # History reflects the same traits: bargain hunters take more discount, big spenders buy dearer items.
    lines = read_kind(demo_dir, "order_lines").astype(
        {"quantity": int, "unit_price": float, "discount": float}
    )
    orders = read_kind(demo_dir, "orders")
    tx = lines.merge(orders, on="order_id").merge(truth[["user_id", "archetype"]], on="user_id")
    tx["gross"] = tx["quantity"] * tx["unit_price"]
    by_type = tx.groupby("archetype")[["discount", "gross"]].sum()
    discount_share = by_type["discount"] / by_type["gross"]
    assert discount_share["bargain_hunter"] > 2 * discount_share["loyal_big_spender"]
    median_price = tx.groupby("archetype")["unit_price"].median()
    assert median_price["loyal_big_spender"] > 3 * median_price["bargain_hunter"]
    last_order = pd.to_datetime(tx.groupby("user_id")["created_at"].max())
    lapsed_ids = truth.loc[truth["archetype"] == "lapsed", "user_id"]
    assert (last_order.reindex(lapsed_ids).dropna() < pd.Timestamp("2026-04-02")).all()


def test_demo_store_holds_every_generated_row(demo_settings: Settings, manifest: DemoManifest) -> None:
    engine = get_engine(demo_settings)
    assert table_counts(engine) == manifest.counts
    assert not (demo_settings.data_dir / "rejects").exists() or not any(
        (demo_settings.data_dir / "rejects").iterdir()
    )
    tx = transactions_frame(engine)
    assert len(tx) == manifest.counts["order_lines"]
    assert list(tx.columns[:4]) == ["user_id", "order_id", "created_at", "status"]
    assert (tx["amount"] >= 0).all()
    assert (demo_settings.data_dir / "demo" / "truth.parquet").exists()
    json.loads((demo_settings.data_dir / "demo" / "manifest.json").read_text(encoding="utf-8"))


def test_cli_demo_data_generates_and_ingests_a_small_shop(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHOPGUIDE_DATA_DIR": str(tmp_path / "data"),
        "SHOPGUIDE_DATABASE_URL": "",
        "SHOPGUIDE_LLM": "none",
    }
    cli = str(Path(sys.executable).parent / "shopguide")
    done = subprocess.run(
        [cli, "demo-data", "--users", "60", "--products", "48", "--seed", "3", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    counts = payload["manifest"]["counts"]
    assert counts["users"] == 60 and counts["products"] == 48
    assert {s["kind"]: s["stored"] for s in payload["ingested"]} == counts
    assert Path(payload["manifest"]["truth_path"]).parent == tmp_path / "data" / "demo"
