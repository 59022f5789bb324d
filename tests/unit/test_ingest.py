"""Ingestion: every kind of malformed row is rejected with a reason, good rows are stored, re-runs are idempotent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from domain.ingest import IngestError, ingest_path
from domain.privacy.crypto import PiiCipher
from domain.settings import Settings
from domain.store import repository, schema
from domain.store.db import get_engine

PRODUCTS = [
    {
        "product_id": "p1",
        "sku": "XR-550",
        "title_en": "Anta XR-550 lightweight running shoes",
        "title_zh": "安踏 XR-550 轻便跑步鞋",
        "brand": "Anta",
        "category": "running-shoes",
        "category_zh": "跑步鞋",
        "price": 299.0,
        "list_price": 399.0,
        "price_tier": "budget",
        "on_promotion": True,
        "discount_pct": 0.25,
        "rating": 4.5,
        "rating_count": 10,
        "stock": 5,
    },
    {
        "product_id": "p2",
        "sku": "LM-10",
        "title_en": "La Mer LM-10 moisturizing cream",
        "title_zh": "海蓝之谜 LM-10 保湿面霜",
        "brand": "La Mer",
        "category": "skincare",
        "price": 2999.0,
        "price_tier": "luxury",
        "stock": 0,
    },
]
USERS_CSV = (
    "user_id,signup_at,language,city,name,phone,email,address\n"
    "u1,2025-01-03T10:00:00,zh,Shanghai,王芳,13812345678,fang.wang@163.com,上海市浦东新区张杨路100号\n"
    'u2,2025-02-03,en,Beijing,Mary Smith,+44 7700 900123,mary@example.com,"1 Oak Avenue, Apt 2, Beijing"\n'
)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def count(settings: Settings, table: str) -> int:
    with get_engine(settings).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(schema.ENTITY_TABLES[table])).scalar() or 0)


def rejects_of(summary) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [json.loads(line) for line in summary.rejects_path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def shop(settings: Settings, tmp_path: Path) -> Settings:
    """An empty store with two products, two users and two orders."""
    ingest_path(settings, write_jsonl(tmp_path / "products.jsonl", PRODUCTS), progress=False)
    (tmp_path / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    ingest_path(settings, tmp_path / "users.csv", progress=False)
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,created_at,status\no1,u1,2025-03-01T09:00:00,delivered\no2,u2,2025-03-02T09:00:00,paid\n",
        encoding="utf-8",
    )
    ingest_path(settings, tmp_path / "orders.csv", progress=False)
    return settings


def test_mixed_csv_stores_exactly_the_good_rows_and_rejects_each_bad_one_with_a_reason(
    shop: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "order_lines.csv"
    good = [b"o1,1,p1,2,399.0,50.0", b"o1,2,p2,1,2999.0,0", b"o2,1,p1,1,399.0,"]
    bad = {
        5: (b"o2,2,p1,two,399.0,0", "quantity"),  # wrong type
        6: (b"o2,3,,1,399.0,0", "product_id"),  # missing key (empty cell)
        7: (b"o2,4,p404,1,399.0,0", "unknown product_id 'p404'"),  # unknown foreign key (product)
        8: (b"o404,1,p1,1,399.0,0", "unknown order_id 'o404'"),  # unknown foreign key (order)
        9: (b"o2,5,p1,1,-5,0", "unit_price"),  # negative price
        10: (b"o2,6,p1,1,39\xff\xfe.0,0", "bad encoding"),  # undecodable bytes reject the line only
        11: (b"o1,1,p2,9,1.0,0", "duplicate id"),  # same primary key as line 2
        12: (b"o2,7,p1", "fields"),  # short row
    }
    lines = [
        b"order_id,line_no,product_id,quantity,unit_price,discount",
        *good,
        *(bad[n][0] for n in sorted(bad)),
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")

    summary = ingest_path(shop, path, progress=False)

    assert (summary.read, summary.stored, summary.updated, summary.rejected) == (11, 3, 0, 8)
    rejects = {r["line"]: r for r in rejects_of(summary)}
    assert set(rejects) == set(bad)
    for line_no, (_raw, needle) in bad.items():
        assert needle in rejects[line_no]["reason"], rejects[line_no]
    assert "already at line 2" in rejects[11]["reason"]
    assert rejects[5]["row"]["quantity"] == "two"  # the original row is kept for the data team
    stored = repository.get_order(get_engine(shop), "o1")
    assert stored is not None
    assert [(line.line_no, line.product_id, line.quantity) for line in stored.lines] == [
        (1, "p1", 2),
        (2, "p2", 1),
    ]
    assert stored.lines[0].amount == pytest.approx(2 * 399.0 - 50.0)
    assert count(shop, "order_lines") == 3


def test_jsonl_rejects_malformed_json_non_objects_missing_fields_and_bad_dates(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "catalog.jsonl"
    rows = [
        json.dumps(PRODUCTS[0]),
        "{not json",
        "[1, 2]",
        json.dumps({**PRODUCTS[1], "colour": "red"}),
        json.dumps({**PRODUCTS[1], "product_id": "p3", "price": -1}),
        json.dumps({k: v for k, v in PRODUCTS[1].items() if k != "price"} | {"product_id": "p4"}),
        json.dumps({**PRODUCTS[1], "product_id": "p5", "rating": "excellent"}),
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    summary = ingest_path(settings, path, progress=False)
    # An unknown column is ignored and reported, not a reason to lose the row (issue 15).
    assert (summary.kind, summary.stored, summary.rejected) == ("products", 2, 5)
    assert summary.ignored_columns == ["colour"]
    reasons = {r["line"]: r["reason"] for r in rejects_of(summary)}
    assert "malformed JSON" in reasons[2]
    assert "expected a JSON object" in reasons[3]
    assert 4 not in reasons
    assert reasons[5].startswith("price:")
    assert "price" in reasons[6] and "required" in reasons[6].lower()
    assert reasons[7].startswith("rating:")

    events = tmp_path / "events.jsonl"
    (tmp_path / "users.csv").write_text(USERS_CSV, encoding="utf-8")
    ingest_path(settings, tmp_path / "users.csv", progress=False)
    write_jsonl(
        events,
        [
            {
                "event_id": "e1",
                "user_id": "u1",
                "kind": "search",
                "ts": "2025-04-01T10:00:00",
                "query": "跑步鞋",
            },
            {
                "event_id": "e2",
                "user_id": "u1",
                "kind": "view",
                "ts": "2025-13-45T10:00:00",
                "product_id": "p1",
            },
            {"event_id": "e3", "user_id": "u1", "kind": "teleport", "ts": "2025-04-01T10:00:00"},
            {
                "event_id": "e4",
                "user_id": "u9",
                "kind": "view",
                "ts": "2025-04-01T10:00:00",
                "product_id": "p1",
            },
        ],
    )
    summary = ingest_path(settings, events, progress=False)
    reasons = {r["line"]: r["reason"] for r in rejects_of(summary)}
    assert summary.stored == 1 and set(reasons) == {2, 3, 4}
    assert reasons[2].startswith("ts:") and "unknown user_id 'u9'" in reasons[4]


def test_reingesting_is_idempotent_and_counts_updates_honestly(shop: Settings, tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "products.jsonl", PRODUCTS)
    again = ingest_path(shop, path, progress=False)
    assert (again.read, again.stored, again.updated, again.rejected) == (2, 0, 2, 0)
    assert count(shop, "products") == 2

    changed = write_jsonl(
        tmp_path / "products_v2.jsonl", [{**PRODUCTS[0], "price": 259.0}, {**PRODUCTS[1], "product_id": "p9"}]
    )
    summary = ingest_path(shop, changed, progress=False)
    assert (summary.stored, summary.updated) == (1, 1)
    product = repository.get_product(get_engine(shop), "p1")
    assert product is not None and product.price == 259.0
    assert count(shop, "products") == 3


def test_parquet_and_kind_option(shop: Settings, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [
            {
                "review_id": "r1",
                "user_id": "u1",
                "product_id": "p1",
                "order_id": "o1",
                "rating": 5,
                "text": "非常轻便，很舒服",
                "language": "zh",
                "created_at": pd.Timestamp("2025-03-10 08:00"),
            },
            {
                "review_id": "r2",
                "user_id": "u2",
                "product_id": "p2",
                "order_id": None,
                "rating": 7,
                "text": "too good",
                "language": "en",
                "created_at": pd.Timestamp("2025-03-11 08:00"),
            },
        ]
    )
    path = tmp_path / "feedback_export.parquet"
    frame.to_parquet(path)
    with pytest.raises(IngestError, match="--kind"):
        ingest_path(shop, path, progress=False)
    summary = ingest_path(shop, path, "reviews", progress=False)
    assert (summary.stored, summary.rejected) == (1, 1)
    assert rejects_of(summary)[0]["line"] == 2 and rejects_of(summary)[0]["reason"].startswith("rating:")
    assert repository.list_reviews(get_engine(shop), "u1")[0].text == "非常轻便，很舒服"


def test_nested_order_lines_replace_stale_lines_on_reingest(shop: Settings, tmp_path: Path) -> None:
    order = {
        "order_id": "o7",
        "user_id": "u1",
        "created_at": "2025-05-01T12:00:00+08:00",
        "status": "delivered",
        "lines": [
            {"product_id": "p1", "quantity": 1, "unit_price": 399.0},
            {"product_id": "p2", "quantity": 1, "unit_price": 2999.0, "discount": 100},
        ],
    }
    bad = {**order, "order_id": "o8", "lines": [{"product_id": "p404", "quantity": 1, "unit_price": 1.0}]}
    summary = ingest_path(shop, write_jsonl(tmp_path / "orders.jsonl", [order, bad]), progress=False)
    assert (summary.stored, summary.rejected, summary.lines_stored) == (1, 1, 2)
    assert "line 1: unknown product_id 'p404'" in rejects_of(summary)[0]["reason"]
    stored = repository.get_order(get_engine(shop), "o7")
    assert stored is not None and stored.total == pytest.approx(399.0 + 2999.0 - 100)
    assert stored.created_at.hour == 4  # +08:00 stored as naive UTC

    shorter = {**order, "lines": order["lines"][:1]}
    summary = ingest_path(shop, write_jsonl(tmp_path / "orders.jsonl", [shorter]), progress=False)
    assert (summary.stored, summary.updated) == (0, 1)
    stored = repository.get_order(get_engine(shop), "o7")
    assert stored is not None and [line.product_id for line in stored.lines] == ["p1"]


def test_user_pii_is_encrypted_with_lookup_hashes_and_masks(shop: Settings) -> None:
    engine = get_engine(shop)
    with engine.connect() as conn:
        row = conn.execute(select(schema.users).where(schema.users.c.user_id == "u1")).mappings().one()
    assert "13812345678" not in json.dumps(dict(row), default=str, ensure_ascii=False)
    assert "王芳" not in json.dumps(dict(row), default=str, ensure_ascii=False)
    assert row["phone_masked"] == "138****5678"
    cipher = PiiCipher.from_settings(shop)
    assert repository.find_user_by_contact(engine, cipher, "+86 138-1234-5678") == "u1"
    assert repository.find_user_by_contact(engine, cipher, "MARY@example.com") == "u2"
    user = repository.get_user(engine, "u1", cipher=cipher)
    assert user is not None and user.name == "王芳" and user.address is not None and "张杨路" in user.address
    assert repository.get_user(engine, "u1").name is None  # type: ignore[union-attr]


def test_duplicates_across_batches_and_fatal_errors(shop: Settings, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,user_id,kind,ts,session_id,product_id,query\n"
        + "".join(f"e{i},u1,view,2025-04-01T10:00:0{i},s1,p1,\n" for i in range(5))
        + "e1,u2,click,2025-04-02T10:00:00,s2,p2,\n",
        encoding="utf-8",
    )
    summary = ingest_path(shop, path, batch_size=2, progress=False)
    assert (summary.read, summary.stored, summary.rejected) == (6, 5, 1)
    assert rejects_of(summary)[0]["line"] == 7 and "already at line 3" in rejects_of(summary)[0]["reason"]
    with pytest.raises(IngestError, match="no such file"):
        ingest_path(shop, tmp_path / "missing.csv", progress=False)
    (tmp_path / "events.xlsx").write_text("x", encoding="utf-8")
    with pytest.raises(IngestError, match="format"):
        ingest_path(shop, tmp_path / "events.xlsx", progress=False)
    (tmp_path / "blank_header.csv").write_text("user_id,,language\nu5,2025-01-01,zh\n", encoding="utf-8")
    with pytest.raises(IngestError, match="header"):
        ingest_path(shop, tmp_path / "blank_header.csv", "users", progress=False)


def test_cli_ingest_exit_codes_and_summary(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHOPGUIDE_DATA_DIR": str(tmp_path / "data"),
        "SHOPGUIDE_DATABASE_URL": "",
        "SHOPGUIDE_LLM": "none",
    }
    products = write_jsonl(tmp_path / "products.jsonl", [PRODUCTS[0], {**PRODUCTS[1], "price": "free"}])
    cli = [str(Path(sys.executable).parent / "shopguide"), "ingest"]
    done = subprocess.run([*cli, str(products)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "read 2, stored 1, updated 0, rejected 1" in done.stdout
    done = subprocess.run(
        [*cli, str(products), "--kind", "widgets"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "unknown kind 'widgets'" in done.stderr and "Traceback" not in done.stderr


def test_foreign_key_cache_overflow_keeps_every_valid_row(
    shop: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the key-cache bound (2M users in production, 3 here) the cache restarts from the batch's keys; a key
    cached before the restart must still count as known (it once was dropped, and valid orders were rejected)."""
    import domain.ingest.writer as writer

    monkeypatch.setattr(writer, "MAX_CACHED_KEYS", 3)
    users = "".join(f"u{i},2025-01-0{i}T10:00:00,en,Shanghai,,,,\n" for i in range(3, 8))
    (tmp_path / "more_users.csv").write_text(
        "user_id,signup_at,language,city,name,phone,email,address\n" + users
    )
    ingest_path(shop, tmp_path / "more_users.csv", progress=False)
    # Batches of two: {u1,u2} {u1,u3} fill the cache to 3; {u1,u4} overflows it while u1 is cached.
    buyers = ["u1", "u2", "u1", "u3", "u1", "u4", "u5", "u1", "u6", "u7"]
    rows = "".join(f"x{i},{u},2025-04-0{1 + i % 9}T09:00:00,paid\n" for i, u in enumerate(buyers))
    (tmp_path / "orders2.csv").write_text("order_id,user_id,created_at,status\n" + rows, encoding="utf-8")
    summary = ingest_path(shop, tmp_path / "orders2.csv", progress=False, batch_size=2)
    assert summary.rejected == 0, rejects_of(summary)
    assert summary.stored == len(buyers) and count(shop, "orders") == 2 + len(buyers)
