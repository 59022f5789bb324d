"""Product index on a real Chroma (embedded on disk, and a real `chroma run` server) with the real embedder."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, update

from domain.settings import Settings
from domain.store import schema
from domain.store.db import get_engine
from evals.chroma_server import chroma_server
from evals.sample_shop import SAMPLE_PRODUCTS, seed_store
from vectorstore.dictionary import cache_file
from vectorstore.dictionary import prepare_cache as prepare_dictionary_cache
from vectorstore.index import ShopIndex, get_shop_index

PRICES = {p["product_id"]: p["price"] for p in SAMPLE_PRODUCTS}
CATEGORY = {p["product_id"]: p["category"] for p in SAMPLE_PRODUCTS}
OUT_OF_STOCK = {p["product_id"] for p in SAMPLE_PRODUCTS if p["stock"] == 0}


@pytest.fixture(params=["embedded", pytest.param("http", marks=pytest.mark.server)])
def shop(request, tmp_path) -> Iterator[ShopIndex]:
    if request.param == "embedded":
        settings = Settings(data_dir=tmp_path / "data", llm="none")
        seed_store(get_engine(settings))
        index = get_shop_index(settings)
        index.refresh(progress=False)
        yield index
        return
    with chroma_server(tmp_path / "chroma-server") as url:
        settings = Settings(data_dir=tmp_path / "data", llm="none", chroma_url=url)
        seed_store(get_engine(settings))
        index = get_shop_index(settings)
        index.refresh(progress=False)
        yield index


def ids(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.product_id for h in hits]


def test_bilingual_and_mixed_queries_find_the_right_products(shop: ShopIndex) -> None:
    assert ids(shop.search_products("适合跑步的 running shoes", 2)) == ["s01", "s02"]  # s03 is out of stock
    assert ids(shop.search_products("降噪耳机", 1)) == ["s04"]
    assert ids(shop.search_products("cheap phone case", 1)) == ["s07"]
    assert set(ids(shop.search_products("咖啡", 2))) == {"s13", "s14"}


def test_model_number_and_brand_match_exactly(shop: ShopIndex) -> None:
    for mode in ("hybrid", "bm25"):
        assert ids(shop.search_products("XR-550", 1, mode=mode)) == ["s04"]
        assert ids(shop.search_products("xr550", 1, mode=mode)) == ["s04"]
    assert ids(shop.search_products("Anker", 1, mode="bm25")) == ["s06"]


@pytest.mark.parametrize("mode", ["hybrid", "dense", "bm25"])
def test_filters_apply_to_every_arm(shop: ShopIndex, mode: str) -> None:
    hits = shop.search_products("running shoes 跑步鞋", 10, min_price=200, max_price=800, mode=mode)
    assert hits, "the price window holds running shoes"
    assert all(200 <= PRICES[h.product_id] <= 800 for h in hits)
    hits = shop.search_products("headphones", 10, category="headphones", mode=mode)
    assert hits and all(CATEGORY[h.product_id] == "headphones" for h in hits)
    by_zh_name = shop.search_products("耳机", 10, category="耳机", mode=mode)
    assert set(ids(by_zh_name)) <= {"s04", "s05"}
    assert not OUT_OF_STOCK & set(ids(shop.search_products("carbon racing shoes", 16, mode=mode)))
    with_stock = shop.search_products("Hoka carbon-plate racing shoes", 3, in_stock_only=False, mode=mode)
    assert "s03" in ids(with_stock)


def test_hits_are_ranked_and_explain_their_arms(shop: ShopIndex) -> None:
    hits = shop.search_products("Sony XR-550 headphones", 5)
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert hits[0].product_id == "s04"
    assert hits[0].dense_rank is not None and hits[0].bm25_rank == 1
    assert all(a.score >= b.score for a, b in itertools.pairwise(hits))


def test_empty_query_browses_best_rated_within_filters(shop: ShopIndex) -> None:
    hits = shop.search_products("", 3, max_price=100)
    assert hits and all(PRICES[h.product_id] <= 100 for h in hits)


def test_bad_mode_is_a_clear_error(shop: ShopIndex) -> None:
    with pytest.raises(ValueError, match="mode"):
        shop.search_products("x", mode="sparse")  # type: ignore[arg-type]


def test_refresh_is_incremental(shop: ShopIndex) -> None:
    again = shop.refresh(progress=False)
    assert (again.products_upserted, again.products_deleted, again.texts_embedded) == (0, 0, 0)
    engine = get_engine(shop.settings)
    with engine.begin() as conn:
        conn.execute(update(schema.products).where(schema.products.c.product_id == "s07").values(price=19.0))
        conn.execute(delete(schema.products).where(schema.products.c.product_id == "s16"))
    changed = shop.refresh(progress=False, history=False)
    assert (changed.products_upserted, changed.products_deleted) == (1, 1)
    assert changed.texts_embedded == 0  # only the price changed: the text's vector comes from the cache
    assert "s16" not in ids(shop.search_products("普洱茶 pu'er tea", 16, in_stock_only=False))
    assert ids(shop.search_products("phone case", 1, max_price=20)) == ["s07"]
    with engine.begin() as conn:
        conn.execute(
            update(schema.products)
            .where(schema.products.c.product_id == "s11")
            .values(title_en="Midea IH rice cooker")
        )
    retitled = shop.refresh(progress=False, history=False)
    assert (retitled.products_upserted, retitled.texts_embedded) == (1, 1)
    assert ids(shop.search_products("IH rice cooker", 1)) == ["s11"]


def test_langchain_retriever_returns_documents_with_metadata(shop: ShopIndex) -> None:
    docs = shop.as_retriever(k=2, max_price=300).invoke("蓝牙耳机 bluetooth earphones")
    assert docs[0].id == "s05"
    assert docs[0].metadata["product_id"] == "s05" and docs[0].metadata["price"] <= 300
    assert "漫步者" in docs[0].page_content


def test_a_new_process_reopens_the_index(shop: ShopIndex, tmp_path: Path) -> None:
    """Reopen the persisted collections in a fresh interpreter: the embedding function and BM25 load by name."""
    script = f"""
import json
from domain.settings import Settings
from vectorstore.index import get_shop_index
settings = Settings(data_dir={str(shop.settings.data_dir)!r}, llm="none", chroma_url={shop.settings.chroma_url!r})
index = get_shop_index(settings)
hits = [h.product_id for h in index.search_products("XR-550 降噪耳机", 1)]
collection = index.client.get_collection("products")  # no embedding function passed: found by its name
by_text = collection.query(query_texts=["咖啡豆 coffee beans"], n_results=1)["ids"][0]
print(json.dumps({{"hits": hits, "by_text": by_text}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["hits"] == ["s04"]
    assert result["by_text"] == ["s14"]


def test_index_command_builds_then_skips_unchanged(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "cli", llm="none")
    seed_store(get_engine(settings))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OPENBLAS_NUM_THREADS": "1",
        "SHOPGUIDE_DATA_DIR": str(settings.data_dir),
        "SHOPGUIDE_LLM": "none",
    }
    shopguide = str(Path(sys.executable).with_name("shopguide"))

    def run(*args: str) -> dict:
        out = subprocess.run(
            [shopguide, "index", "--json", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)

    first = run()
    assert (first["products_upserted"], first["history_upserted"]) == (16, 10)
    second = run("--no-history")
    assert (second["products_upserted"], second["texts_embedded"], second["history_total"]) == (0, 0, 0)


def test_clustered_dense_search_matches_exact_scan_and_respects_filters() -> None:
    """Above IVF_MIN_ROWS the dense arm probes the nearest clusters; it must stay close to exact and filter."""
    import numpy as np

    from vectorstore.hybrid import top_k
    from vectorstore.product_table import IVF_MIN_ROWS, ProductTable

    rng = np.random.default_rng(3)
    n = IVF_MIN_ROWS + 5_000
    centers = rng.normal(size=(40, 64)).astype(np.float32)
    matrix = centers[rng.integers(0, 40, n)] + 0.3 * rng.normal(size=(n, 64)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    metas = [
        {"price": float(p), "category": "c", "in_stock": bool(s)}
        for p, s in zip(rng.uniform(1, 1000, n), rng.random(n) > 0.1, strict=True)
    ]
    table = ProductTable.build("g", [f"p{i}" for i in range(n)], ["x"] * n, metas, matrix)
    assert len(table.offsets) - 1 > 1  # really clustered
    overlaps = []
    for q in matrix[rng.integers(0, n, 20)]:
        allowed = table.allowed(min_price=100, max_price=400)
        rows, sims = table.dense_search(q, 10, allowed, 100, 400)
        assert len(rows) == 10
        assert all(100 <= table.price[r] <= 400 and table.in_stock[r] for r in rows)
        assert list(sims) == sorted(sims, reverse=True)
        exact = set(top_k(table.matrix @ q, 10, allowed).tolist())
        overlaps.append(len(exact & set(rows.tolist())) / 10)
    assert np.mean(overlaps) >= 0.9


def test_indexing_prepares_the_dictionary_so_no_query_pays_for_it(shop: ShopIndex) -> None:
    """The first cross-language query must not build CC-CEDICT's maps (16 s here): `shopguide index` did."""
    assert cache_file(shop.settings.cache_dir / "dictionary").is_file()
    assert prepare_dictionary_cache() is False  # already there: a later refresh writes nothing
