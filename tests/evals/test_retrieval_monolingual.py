"""Acceptance (issue 15): on English-only and Chinese-only versions of the demo catalog, hybrid recall@5 >= 0.90 for
queries in either language, and hybrid >= the better single arm in every query-language x catalog-language cell,
with a general zh<->en dictionary (nothing taken from the demo catalog's vocabulary).
On the bilingual catalog, the language-aware fusion keeps the figures plain RRF had (0.965 zh, 0.975 en).
Real catalog generator, real embedder, real Chroma; labels resolve on the bilingual catalog."""

from __future__ import annotations

import pytest

from domain.settings import Settings
from evals.retrieval import build_eval_index, demo_catalog, evaluate, monolingual
from vectorstore.crosslingual import known_share
from vectorstore.tokenize import tokenize

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settings(tmp_path_factory):  # type: ignore[no-untyped-def]
    return Settings(data_dir=tmp_path_factory.mktemp("retrieval-monolingual"), llm="none")


@pytest.fixture(scope="module")
def catalog(settings):  # type: ignore[no-untyped-def]
    return demo_catalog(settings.cache_dir)


@pytest.fixture(scope="module")
def indexes(settings, catalog):  # type: ignore[no-untyped-def]
    langs = ("bilingual", "en", "zh")
    return {lang: build_eval_index(settings, monolingual(catalog, lang), name=lang) for lang in langs}


@pytest.fixture(scope="module")
def reports(indexes, catalog):  # type: ignore[no-untyped-def]
    return {
        lang: evaluate(index, monolingual(catalog, lang), labels=catalog) for lang, index in indexes.items()
    }


def test_monolingual_catalogs_really_have_one_language(catalog) -> None:  # type: ignore[no-untyped-def]
    english, chinese = monolingual(catalog, "en"), monolingual(catalog, "zh")
    assert all(r["title_zh"] == "" and r["description_zh"] == "" and r["title_en"] for r in english)
    assert all(r["title_en"] == "" and r["description_en"] == "" and r["title_zh"] for r in chinese)
    assert not any(r["category"].isascii() for r in chinese)  # a Chinese shop names its categories in Chinese


@pytest.mark.parametrize(("query_lang", "before"), [("zh", 0.965), ("en", 0.975)])
def test_bilingual_catalog_keeps_the_plain_rrf_figures(reports, query_lang: str, before: float) -> None:  # type: ignore[no-untyped-def]
    # The figures were quoted to three decimals (0.9646 was quoted as 0.965).
    assert round(reports["bilingual"].scores["hybrid"][query_lang].recall_at_5, 3) >= before


def cell(report, query_lang: str) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    assert report.skipped == []
    return tuple(report.scores[m][query_lang].recall_at_5 for m in ("hybrid", "dense", "bm25"))  # type: ignore[return-value]


# The cross-language dictionary is general (CC-CEDICT plus a short list of shopping words, none from the demo
# catalog). English queries over the Chinese-only catalog reach the bar through the gloss arm (0.853 with query
# translation alone, 0.909 with it): the catalog's coinages (游戏本 gaming laptop) are glossed part by part.
@pytest.mark.parametrize(
    ("catalog_lang", "query_lang"), [("en", "zh"), ("en", "en"), ("zh", "zh"), ("zh", "en")]
)
def test_hybrid_meets_the_bar(reports, catalog_lang: str, query_lang: str) -> None:  # type: ignore[no-untyped-def]
    hybrid, dense, bm25 = cell(reports[catalog_lang], query_lang)
    print(
        f"{catalog_lang} catalog, {query_lang} queries: hybrid {hybrid:.3f} dense {dense:.3f} bm25 {bm25:.3f}"
    )
    assert hybrid >= 0.90


@pytest.mark.parametrize("catalog_lang", ["en", "zh"])
@pytest.mark.parametrize("query_lang", ["zh", "en"])
def test_hybrid_beats_each_arm(reports, catalog_lang: str, query_lang: str) -> None:  # type: ignore[no-untyped-def]
    hybrid, dense, bm25 = cell(reports[catalog_lang], query_lang)
    assert hybrid >= max(dense, bm25)


def test_keyword_arm_is_dropped_when_it_knows_no_query_word(indexes) -> None:  # type: ignore[no-untyped-def]
    # "量子纠缠" (quantum entanglement): neither the query nor its translation shares a word with the English
    # catalog, so only the dense arm can say anything.
    query = "量子纠缠"
    table = indexes["en"].product_table()
    translation, _coverage = table.terms.lexicon.translate(query)
    assert known_share(table.bm25, tokenize(query)) == known_share(table.bm25, tokenize(translation)) == 0.0
    hybrid = indexes["en"].search_products(query, 10, in_stock_only=False)
    dense = indexes["en"].search_products(query, 10, in_stock_only=False, mode="dense")
    assert [h.product_id for h in hybrid] == [h.product_id for h in dense]
    assert all(h.bm25_rank is None for h in hybrid)


@pytest.mark.parametrize("catalog_lang", ["en", "zh"])
def test_model_numbers_rank_their_product_first_in_any_catalog(reports, catalog_lang: str) -> None:  # type: ignore[no-untyped-def]
    rows = [q for q in reports[catalog_lang].per_query if q["type"] == "model_number"]
    assert len(rows) >= 6
    assert all(q["hybrid_recall_at_5"] == 1.0 for q in rows)
