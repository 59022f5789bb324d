"""Real shops' files, ingested with no hand conversion: English-only CSV with currency strings and foreign column
names, a Chinese-only JSONL, a Shopify export, and an invoice-style transactions CSV with returns and rows that lack
a customer. Every valid row is stored; every bad row is in the rejects file with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.ingest import ColumnMapping, IngestError, ingest_path, plan_folder
from domain.ingest.values import derived_product_id
from domain.models import Product
from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine

ELECTRONICS_CSV = """Sub Category,Price,Discount,Rating,Title,Feature,Colour
Headphones,$20.99,20% off,4.3,Boat Rockerz 255 Wireless Earphones,"<ul><li>Bluetooth 5.0</li><li>IPX5 &amp; fast charge</li></ul>",black
Headphones,"$1,299.00",10%,,Sony WH-1000XM4 Noise Cancelling Headphones,Industry-leading noise cancelling,silver
Headphones,$35.50,0,4.0,JBL Tune 510BT On-Ear Headphones,Pure bass sound,blue
Smart Watches,$199.99,15%,4.6,Amazfit GTR 4 Smart Watch,Dual-band GPS,black
Smart Watches,"$2,499.00",,4.8,Apple Watch Ultra 2,Titanium case,grey
Smart Watches,$49.00,5%,3.9,Noise ColorFit Pulse Smart Watch,<b>1.4 inch</b> display,pink
Headphones,twenty dollars,0,4.1,Broken Price Earbuds,Cheap,white
Headphones,$15.00,0,4.1,,No title at all,white
Headphones,$18.00,0,excellent,Odd Rating Earbuds,Rating is a word,white
"""

CHINESE_JSONL_ROWS = [
    {
        "商品编号": "z1",
        "商品名称": "安踏 轻便跑步鞋",
        "品牌": "安踏",
        "分类": "跑步鞋",
        "价格": "¥299",
        "库存": "1,200",
        "描述": "<p>透气 缓震</p>",
    },
    {
        "商品编号": "z2",
        "商品名称": "李宁 竞速跑鞋",
        "品牌": "李宁",
        "分类": "跑步鞋",
        "价格": "￥899.00",
        "库存": "35",
    },
    {
        "商品编号": "z3",
        "商品名称": "海蓝之谜 面霜",
        "品牌": "海蓝之谜",
        "分类": "护肤",
        "价格": "2999元",
        "评分": "4.9",
    },
    {"商品编号": "z4", "商品名称": "无价格的商品", "分类": "护肤"},
]

SHOPIFY_CSV = """Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Variant SKU,Variant Price,Variant Compare At Price,Variant Inventory Qty,Image Src
trail-runner,Trail Runner 2,<p>Grippy <strong>trail</strong> shoe</p>,Acme,Running Shoes,"trail, run",TRUE,TR-2,129.00,159.00,12,https://cdn.example.com/a.jpg
trail-runner,,,,,,,,,,,https://cdn.example.com/b.jpg
city-sneaker,City Sneaker,<p>Everyday comfort</p>,Acme,Sneakers,city,TRUE,CS-1,89.00,,0,https://cdn.example.com/c.jpg
"""

INVOICES_CSV = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850.0,United Kingdom
536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850.0,United Kingdom
536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,17850.0,United Kingdom
536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047.0,United Kingdom
536367,71053,WHITE METAL LANTERN,2,12/1/2010 8:34,3.39,13047.0,United Kingdom
C536379,71053,WHITE METAL LANTERN,-1,12/1/2010 9:41,3.39,13047.0,United Kingdom
536380,22633,HAND WARMER UNION JACK,3,12/1/2010 9:45,1.85,,United Kingdom
536381,84879,ASSORTED COLOUR BIRD ORNAMENT,4,12/2/2010 10:00,1.69,14688.0,United Kingdom
536381,84879,ASSORTED COLOUR BIRD ORNAMENT,-2,12/2/2010 10:00,1.69,14688.0,United Kingdom
536382,22633,HAND WARMER UNION JACK,0,12/2/2010 11:00,1.85,14688.0,United Kingdom
536383,22633,HAND WARMER UNION JACK,2,not a date,1.85,14688.0,United Kingdom
"""


def rejects_of(summary) -> dict[int, str]:  # type: ignore[no-untyped-def]
    if not summary.rejects_path.exists():
        return {}
    lines = summary.rejects_path.read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["line"]: json.loads(line)["reason"] for line in lines}


def products_of(settings: Settings) -> dict[str, dict]:
    with get_engine(settings).connect() as conn:
        return {r["product_id"]: dict(r) for r in conn.execute(select(schema.products)).mappings()}


def test_english_catalog_with_currency_strings_and_foreign_columns(
    settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "electronics.csv"
    path.write_text(ELECTRONICS_CSV, encoding="utf-8")
    summary = ingest_path(settings, path, "products", progress=False)

    assert (summary.read, summary.stored, summary.rejected) == (9, 6, 3)
    assert summary.ignored_columns == ["Colour"]
    reasons = rejects_of(summary)
    assert reasons[8].startswith("price:") and "twenty dollars" in reasons[8]
    assert "product_id" in reasons[9]  # no title, no id: nothing to know the product by
    assert reasons[10].startswith("rating:")
    stored = products_of(settings)
    sony = stored[derived_product_id("Sony WH-1000XM4 Noise Cancelling Headphones")]
    assert sony["price"] == 1299.0 and sony["discount_pct"] == pytest.approx(0.10)
    assert sony["rating"] == 0.0  # empty rating: not rated
    assert sony["title_zh"] == "" and sony["category"] == "headphones"
    assert sony["stock"] == 1  # the catalog says nothing about stock: assumed available, not hidden
    boat = stored[derived_product_id("Boat Rockerz 255 Wireless Earphones")]
    assert boat["price"] == 20.99 and boat["discount_pct"] == pytest.approx(0.20)
    assert boat["description_en"] == "Bluetooth 5.0\nIPX5 & fast charge"  # HTML reduced to text
    # Tiers come from price quantiles within the category: the dearest watch is not budget, the cheapest is.
    assert stored[derived_product_id("Apple Watch Ultra 2")]["price_tier"] in ("premium", "luxury")
    assert stored[derived_product_id("Noise ColorFit Pulse Smart Watch")]["price_tier"] == "budget"
    assert summary.tiers_derived == 6
    # Every stored row reads back as a valid product, shown in either language.
    for row in stored.values():
        product = Product.model_validate({k: v for k, v in row.items()})
        assert product.title("zh") == product.title("en") != ""


def test_chinese_only_jsonl(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "商品.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in CHINESE_JSONL_ROWS), encoding="utf-8"
    )
    summary = ingest_path(settings, path, "products", progress=False)
    assert (summary.stored, summary.rejected) == (3, 1)
    assert rejects_of(summary)[4].startswith("price:")
    stored = products_of(settings)
    assert stored["z1"]["title_zh"] == "安踏 轻便跑步鞋" and stored["z1"]["title_en"] == ""
    assert stored["z1"]["stock"] == 1200 and stored["z1"]["price"] == 299.0
    assert stored["z1"]["category"] == "跑步鞋" == stored["z1"]["category_zh"]
    assert stored["z1"]["description_zh"] == "透气 缓震"
    assert stored["z3"]["price"] == 2999.0 and stored["z3"]["rating"] == 4.9
    assert all(row["price_tier"] for row in stored.values())


def test_shopify_export(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "products_export.csv"
    path.write_text(SHOPIFY_CSV, encoding="utf-8")
    summary = ingest_path(settings, path, progress=False)
    assert (summary.kind, summary.stored, summary.rejected) == ("products", 2, 1)
    assert set(summary.ignored_columns) == {"Tags", "Published", "Image Src"}
    assert "price" in rejects_of(summary)[3]  # the image-only continuation row of a product
    trail = products_of(settings)["trail-runner"]
    assert (trail["title_en"], trail["brand"], trail["sku"]) == ("Trail Runner 2", "Acme", "TR-2")
    assert (trail["price"], trail["list_price"], trail["stock"]) == (129.0, 159.0, 12)
    assert trail["category"] == "running-shoes" and trail["description_en"] == "Grippy trail shoe"


def test_explicit_mapping_and_date_format(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "members.csv"
    path.write_text("Member No,Joined,Tongue\nm1,03/02/2024,English\nm2,31/12/2023,中文\nm3,2024-13-01,en\n")
    mapping_file = tmp_path / "members.mapping.toml"
    mapping_file.write_text('kind = "users"\ndate_format = "%d/%m/%Y"\n[columns]\nuser_id = "Member No"\n')
    mapping = ColumnMapping.from_file(mapping_file).merged(
        ColumnMapping.from_options(["signup_at=Joined", "language=Tongue"])
    )
    summary = ingest_path(settings, path, mapping=mapping, progress=False)
    assert (summary.kind, summary.stored, summary.rejected) == ("users", 2, 1)
    assert rejects_of(summary)[4].startswith("signup_at:")
    with get_engine(settings).connect() as conn:
        rows = {r.user_id: r for r in conn.execute(select(schema.users))}
    assert rows["m1"].signup_at.month == 2 and rows["m1"].language == "en" and rows["m2"].language == "zh"
    with pytest.raises(IngestError, match="names no field"):
        ingest_path(
            settings, path, "users", mapping=ColumnMapping.from_options(["colour=Tongue"]), progress=False
        )


def test_invoice_transactions_with_returns_and_missing_customers(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "online_retail.csv"
    path.write_text(INVOICES_CSV, encoding="utf-8")
    summary = ingest_path(settings, path, progress=False)

    assert summary.kind == "transactions" and summary.read == 11
    reasons = rejects_of(summary)
    assert set(reasons) == {8, 11, 12}
    assert "customer id missing" in reasons[8]
    assert reasons[11].startswith("quantity:")
    assert reasons[12].startswith("created_at:")
    assert summary.created == {"users": 3, "products": 4, "orders": 6} and summary.lines_stored == 8
    assert summary.ignored_columns == ["Country"]
    engine = get_engine(settings)
    with engine.connect() as conn:
        orders = {r.order_id: r for r in conn.execute(select(schema.orders))}
        lines = conn.execute(select(schema.order_lines)).all()
    assert orders["C536379"].status == "returned" and orders["C536379"].user_id == "13047"
    assert orders["536381-R"].status == "returned" and orders["536381"].status == "paid"
    assert {(li.order_id, li.quantity) for li in lines if li.order_id.endswith(("-R", "536379"))} == {
        ("C536379", 1),
        ("536381-R", 2),
    }
    lantern = products_of(settings)["71053"]
    assert lantern["title_en"] == "WHITE METAL LANTERN" and lantern["price"] == 3.39 and lantern["price_tier"]

    again = ingest_path(settings, path, progress=False)  # re-running changes nothing
    assert again.created == {"users": 0, "products": 0, "orders": 0} and again.lines_stored == 8
    assert again.updated == 6
    with engine.connect() as conn:
        assert len(conn.execute(select(schema.order_lines)).all()) == 8


def test_transactions_by_product_name_match_the_catalog(settings: Settings, tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(ELECTRONICS_CSV, encoding="utf-8")
    ingest_path(settings, catalog, "products", progress=False)
    sales = tmp_path / "sales.csv"
    sales.write_text(
        "order,customer,date,product,qty,price\n"
        'o1,c1,2024-05-01,Apple Watch Ultra 2,1,"$2,499.00"\n'
        "o1,c1,2024-05-01,Mystery Gadget,2,$5.00\n"
    )
    summary = ingest_path(settings, sales, "transactions", progress=False)
    assert summary.rejected == 0 and summary.created["products"] == 1  # only the unknown one
    with get_engine(settings).connect() as conn:
        ids = [
            r.product_id
            for r in conn.execute(select(schema.order_lines).order_by(schema.order_lines.c.line_no))
        ]
    assert ids == [derived_product_id("Apple Watch Ultra 2"), derived_product_id("Mystery Gadget")]


def test_folder_plan_sniffs_kinds_by_name_and_columns(tmp_path: Path) -> None:
    (tmp_path / "export_2024.csv").write_text(INVOICES_CSV)  # no telling name: sniffed from its columns
    (tmp_path / "catalog.csv").write_text(ELECTRONICS_CSV)
    (tmp_path / "clients.csv").write_text("CustomerID,Created At\n1,2024-01-01\n")
    plan = plan_folder(tmp_path)
    assert [(p.name, kind) for p, kind, _ in plan] == [
        ("catalog.csv", "products"),
        ("clients.csv", "users"),
        ("export_2024.csv", "transactions"),
    ]
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(IngestError, match=r"notes\.csv"):
        plan_folder(tmp_path)


def test_cli_ingest_with_map_option(tmp_path: Path) -> None:
    path = tmp_path / "things.csv"
    path.write_text(
        "Ref,Label,Cost,Kind\nk1,Desk Lamp,€1.299,00,Lighting\n".replace("€1.299,00", '"€1.299,00"')
    )
    env = {
        **os.environ,
        "SHOPGUIDE_DATA_DIR": str(tmp_path / "data"),
        "SHOPGUIDE_DATABASE_URL": "",
        "SHOPGUIDE_LLM": "none",
    }
    cli = [str(Path(sys.executable).parent / "shopguide"), "ingest"]
    done = subprocess.run(
        [
            *cli,
            str(path),
            "--kind",
            "products",
            "--map",
            "product_id=Ref",
            "--map",
            "title=Label",
            "--map",
            "price=Cost",
            "--map",
            "category=Kind",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "stored 1" in done.stdout and "price tier derived for 1" in done.stdout
    bad = subprocess.run(
        [*cli, str(path), "--map", "nonsense"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "target=source" in bad.stderr and "Traceback" not in bad.stderr


def test_files_in_the_models_own_columns_are_parsed_only_where_refused(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(ELECTRONICS_CSV, encoding="utf-8")
    ingest_path(settings, catalog, "products", progress=False)
    (tmp_path / "users.csv").write_text(
        "user_id,signup_at,language\nu1,2024-01-05,English\nu2,05.01.2024,zh\n"
    )
    users = ingest_path(settings, tmp_path / "users.csv", progress=False)
    assert (users.stored, users.rejected) == (2, 0)
    (tmp_path / "orders.csv").write_text(
        "order_id,user_id,created_at,status\no1,u1,12/1/2024 8:26,Refunded\no2,u2,2024-12-02T09:00:00,paid\n"
    )
    orders = ingest_path(settings, tmp_path / "orders.csv", progress=False)
    assert (orders.stored, orders.rejected) == (2, 0)
    sony = derived_product_id("Sony WH-1000XM4 Noise Cancelling Headphones")
    (tmp_path / "order_lines.csv").write_text(
        "order_id,line_no,product_id,quantity,unit_price,discount\n"
        f'o1,1,{sony},"1,000","$1,299.00",0\no2,1,{sony},1,1299,N/A\no2,2,{sony},1,free,0\n'
    )
    lines = ingest_path(settings, tmp_path / "order_lines.csv", progress=False)
    assert (lines.stored, lines.rejected) == (2, 1)
    assert rejects_of(lines)[4].startswith("unit_price:") and "free" in rejects_of(lines)[4]
    with get_engine(settings).connect() as conn:
        stored = {(r.order_id, r.line_no): r for r in conn.execute(select(schema.order_lines))}
        order = conn.execute(select(schema.orders).where(schema.orders.c.order_id == "o1")).one()
        language = conn.execute(
            select(schema.users.c.language).where(schema.users.c.user_id == "u1")
        ).scalar()
    assert (stored[("o1", 1)].quantity, stored[("o1", 1)].unit_price) == (1000, 1299.0)
    assert stored[("o2", 1)].discount == 0.0
    assert (order.created_at.month, order.created_at.day, order.status) == (12, 1, "returned")
    assert language == "en"
