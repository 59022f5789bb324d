"""Retrieval quality on a labelled bilingual query set: recall@5, MRR@10, nDCG@10 per language and per arm.

Labels in ``eval_queries.jsonl`` are predicates over the catalog (category, brand, English title words,
description words, or "the model number of the n-th product of a category"), resolved against whatever demo
catalog is indexed, so they stay true when the generator changes. Recall@5 is capped: hits in the top 5 divided
by min(5, number of relevant products), since a category query has dozens of relevant products.

Most shops have a one-language catalog, so the same queries also run on English-only and Chinese-only versions of
the catalog (``monolingual``: the other language's fields removed). Labels are always resolved on the full
bilingual catalog, so every version is scored against the same relevant products.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from domain.demo import generate_demo_shop
from domain.models import Language
from domain.settings import Settings
from domain.store.db import get_engine
from evals.sample_shop import seed_store
from vectorstore.index import get_shop_index

QUERIES_PATH = Path(__file__).with_name("eval_queries.jsonl")
MODES: tuple[Literal["dense", "bm25", "hybrid"], ...] = ("dense", "bm25", "hybrid")
CatalogLang = Literal["bilingual", "en", "zh"]
CATALOG_LANGS: tuple[CatalogLang, ...] = ("bilingual", "en", "zh")


class EvalQuery(BaseModel):
    id: str
    lang: Language
    type: str
    query: str
    relevant: dict[str, Any]


class ResolvedQuery(BaseModel):
    id: str
    lang: str
    type: str
    text: str
    relevant: list[str]


class ArmScores(BaseModel):
    recall_at_5: float
    mrr_at_10: float
    ndcg_at_10: float
    n: int


class EvalReport(BaseModel):
    n_products: int
    n_queries: int
    scores: dict[str, dict[str, ArmScores]]  # mode -> lang ("zh", "en", "all") -> scores
    per_query: list[dict[str, Any]]
    skipped: list[str]


def load_queries(path: Path = QUERIES_PATH) -> list[EvalQuery]:
    return [EvalQuery.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]


def _matches(row: dict[str, Any], pred: dict[str, Any]) -> bool:
    if "category" in pred and row["category"] != pred["category"]:
        return False
    if "brand" in pred and row["brand"].lower() != str(pred["brand"]).lower():
        return False
    if "title_has" in pred and not any(
        re.search(rf"\b{re.escape(w.lower())}\b", row["title_en"].lower()) for w in pred["title_has"]
    ):
        return False
    text = f"{row['title_en']} {row.get('description_en', '')}".lower()
    return not ("text_has" in pred and not any(w.lower() in text for w in pred["text_has"]))


def resolve(queries: list[EvalQuery], catalog: list[dict[str, Any]]) -> tuple[list[ResolvedQuery], list[str]]:
    """Turn predicates into relevant product-id sets; fill {sku}/{brand_en}/{brand_zh} templates."""
    rows = sorted(catalog, key=lambda r: str(r["product_id"]))
    resolved, skipped = [], []
    for q in queries:
        text, pred = q.query, dict(q.relevant)
        if "sku_of" in pred:
            spec = dict(pred.pop("sku_of"))
            nth = int(spec.pop("nth", 0))
            pool = [r for r in rows if _matches(r, spec) and r.get("sku")]
            if len(pool) <= nth:
                skipped.append(q.id)
                continue
            target = pool[nth]
            brand_zh = str(target["title_zh"]).split(" ")[0]
            text = text.format(sku=target["sku"], brand_en=target["brand"], brand_zh=brand_zh)
            relevant = [str(r["product_id"]) for r in rows if r.get("sku") == target["sku"]]
        else:
            relevant = [str(r["product_id"]) for r in rows if _matches(r, pred)]
        if not relevant:
            skipped.append(q.id)
            continue
        resolved.append(ResolvedQuery(id=q.id, lang=q.lang, type=q.type, text=text, relevant=relevant))
    return resolved, skipped


def score_ranking(ranked: list[str], relevant: set[str]) -> tuple[float, float, float]:
    """(capped recall@5, reciprocal rank within 10, binary nDCG@10)."""
    recall = len([p for p in ranked[:5] if p in relevant]) / min(5, len(relevant))
    rr = next((1.0 / i for i, p in enumerate(ranked[:10], 1) if p in relevant), 0.0)
    dcg = sum(1.0 / math.log2(i + 1) for i, p in enumerate(ranked[:10], 1) if p in relevant)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(10, len(relevant)) + 1))
    return recall, rr, dcg / ideal


def monolingual(catalog: list[dict[str, Any]], lang: CatalogLang) -> list[dict[str, Any]]:
    """The catalog as a one-language shop would export it: the other language's titles, descriptions and
    category names removed. A Chinese-only shop names its categories and brands in Chinese too."""
    if lang == "bilingual":
        return catalog
    rows = []
    for row in catalog:
        if lang == "en":
            rows.append({**row, "title_zh": "", "description_zh": "", "category_zh": ""})
        else:
            category_zh = row.get("category_zh") or row["category"]
            brand_zh = str(row["title_zh"]).split(" ")[0] or row["brand"]
            rows.append(
                {**row, "title_en": "", "description_en": "", "category": category_zh, "brand": brand_zh}
            )
    return rows


def evaluate(
    index: Any,
    catalog: list[dict[str, Any]],
    queries: list[EvalQuery] | None = None,
    labels: list[dict[str, Any]] | None = None,
) -> EvalReport:
    """Run every query through every arm of ``index`` (a ShopIndex over ``catalog``) and aggregate; the
    labels resolve against ``labels`` (the bilingual catalog) when given, else against ``catalog``."""
    resolved, skipped = resolve(queries or load_queries(), labels or catalog)
    sums: dict[str, dict[str, list[tuple[float, float, float]]]] = defaultdict(lambda: defaultdict(list))
    per_query = []
    for q in resolved:
        relevant = set(q.relevant)
        row: dict[str, Any] = {
            "id": q.id,
            "lang": q.lang,
            "type": q.type,
            "query": q.text,
            "n_relevant": len(relevant),
        }
        for mode in MODES:
            hits = index.search_products(q.text, 10, in_stock_only=False, mode=mode)
            triple = score_ranking([h.product_id for h in hits], relevant)
            sums[mode][q.lang].append(triple)
            sums[mode]["all"].append(triple)
            row[f"{mode}_recall_at_5"] = round(triple[0], 3)
        per_query.append(row)
    scores = {
        mode: {
            lang: ArmScores(
                recall_at_5=round(sum(t[0] for t in vals) / len(vals), 4),
                mrr_at_10=round(sum(t[1] for t in vals) / len(vals), 4),
                ndcg_at_10=round(sum(t[2] for t in vals) / len(vals), 4),
                n=len(vals),
            )
            for lang, vals in by_lang.items()
        }
        for mode, by_lang in sums.items()
    }
    return EvalReport(
        n_products=len(catalog), n_queries=len(resolved), scores=scores, per_query=per_query, skipped=skipped
    )


def demo_catalog(cache_dir: Path, seed: int = 7, n_products: int = 600) -> list[dict[str, Any]]:
    """The demo generator's product rows (generated once under ``cache_dir``; the generator is deterministic)."""
    out = cache_dir / f"demo_catalog_s{seed}_p{n_products}"
    products = out / "products.jsonl"
    if not products.exists():
        # Users are needed by the generator's signature but not here: keep them few, the catalog is the same.
        generate_demo_shop(out, seed=seed, n_users=50, n_products=n_products)
    return [json.loads(line) for line in products.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate_catalogs(
    settings: Any, catalog: list[dict[str, Any]], langs: tuple[CatalogLang, ...] = CATALOG_LANGS
) -> dict[str, EvalReport]:
    """One report per catalog language: the bilingual catalog and its English-only and Chinese-only versions."""
    return {
        lang: evaluate(
            build_eval_index(settings, monolingual(catalog, lang), name=lang),
            monolingual(catalog, lang),
            labels=catalog,
        )
        for lang in langs
    }


def build_eval_index(settings: Any, catalog: list[dict[str, Any]], name: str = "bilingual") -> Any:
    """A ShopIndex over exactly ``catalog``, in its own data dir (never the user's store); one per ``name``."""

    eval_settings = Settings(
        data_dir=settings.cache_dir / "eval_retrieval" / name,
        llm="none",
        embedder=settings.embedder,
        embedding_model=settings.embedding_model,
        embedding_threads=settings.embedding_threads,
        openai_base_url=settings.openai_base_url,
        openai_api_key=settings.openai_api_key,
    )
    columns = (
        "product_id",
        "sku",
        "title_en",
        "title_zh",
        "description_en",
        "description_zh",
        "brand",
        "category",
        "category_zh",
        "price",
        "list_price",
        "price_tier",
        "on_promotion",
        "discount_pct",
        "rating",
        "rating_count",
        "stock",
    )
    rows = [{c: r.get(c) for c in columns} for r in catalog]
    seed_store(get_engine(eval_settings), rows, with_history=False)
    index = get_shop_index(eval_settings)
    index.refresh(progress=False, history=False)
    return index
