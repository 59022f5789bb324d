"""Cross-language fusion parts on a tiny real BM25 index: query translation and its coverage, how much the keyword
index knows of a query, exact model numbers first, a named brand's products up, dropping the keyword arm, and the
English gloss of a Chinese-only catalog."""

from __future__ import annotations

import numpy as np

from vectorstore import crosslingual
from vectorstore.crosslingual import (
    CatalogTerms,
    Lexicon,
    english_gloss,
    fuse,
    general_lexicon,
    in_known_forms,
    known_share,
)
from vectorstore.hybrid import BM25Index
from vectorstore.tokenize import tokenize

TITLES = [
    "Sony WH-1000XM4 wireless headphones noise cancelling",
    "JBL Tune 510BT wireless headphones",
    "Lavazza coffee beans 1kg espresso",
    "Asics Gel running shoes lightweight",
]
SKU = np.asarray(["WH-1000XM4", "T510BT", "", "GEL-5"])
BRAND = np.asarray(["Sony", "JBL", "Lavazza", "Asics"])
CATEGORY = np.asarray(["headphones", "headphones", "coffee", "running-shoes"])
CATEGORY_ZH = np.asarray(["", "", "", ""])
TITLES_ZH = ["索尼 降噪无线耳机", "九阳 智能电饭煲", "凯乐石 防风防水帐篷", "飞利浦 电动牙刷"]


def indexes(titles: list[str]) -> dict[str, BM25Index]:
    return {"bm25": BM25Index.build(titles), "gloss": BM25Index.build([english_gloss(t) for t in titles])}


def terms() -> CatalogTerms:
    return CatalogTerms.build(SKU, BRAND, CATEGORY, CATEGORY_ZH)


def test_translation_reports_how_much_of_the_query_it_covered() -> None:
    lexicon = Lexicon.from_pairs([("耳机", "headphones"), ("无线", "wireless"), ("咖啡豆", "coffee beans")])
    assert lexicon.translate("无线耳机") == ("wireless headphones", 1.0)
    text, coverage = lexicon.translate("降噪耳机")  # 降噪 unknown: half the content translated
    assert text == "headphones" and coverage == 0.5
    assert lexicon.translate("WH-1000XM4 的耳机") == (
        "wh-1000xm4 headphones",
        1.0,
    )  # model number and 的 neutral
    assert lexicon.translate("coffee beans") == ("咖啡豆", 1.0)
    assert lexicon.translate("量子纠缠") == ("", 0.0)


def test_general_lexicon_translates_everyday_shopping_queries_both_ways() -> None:
    lexicon = general_lexicon()
    text, coverage = lexicon.translate("便宜的手机配件")
    assert coverage == 1.0 and {"cheap", "phone", "accessorie"} <= set(tokenize(text))
    text, coverage = lexicon.translate("cheap accessories for my phone")
    assert coverage == 1.0 and text.split() == ["便宜", "配件", "手机"]  # stop words ("for", "my") dropped
    text, coverage = lexicon.translate("noise cancelling headphones")  # "cancelling" found as "cancel"
    assert coverage == 1.0 and "耳机" in text.split()


def test_the_catalogs_own_category_names_come_before_the_general_lexicon() -> None:
    own = Lexicon.from_pairs([("跑步鞋", "running shoes")])
    lexicon = own.over(general_lexicon())
    assert lexicon.translate("running shoes") == ("跑步鞋", 1.0)
    assert general_lexicon().translate("running shoes") == ("跑鞋", 1.0)
    assert lexicon.translate("耳机")[0] == general_lexicon().translate("耳机")[0]


def test_known_share_counts_tokens_in_the_index() -> None:
    index = BM25Index.build(TITLES)
    assert known_share(index, tokenize("wireless headphones")) == 1.0
    assert known_share(index, tokenize("无线耳机")) == 0.0
    assert 0 < known_share(index, tokenize("sony 耳机")) < 1


def fused_ids(query: str, dense: list[int], titles: list[str] = TITLES) -> list[int]:
    ranked, _ = fuse(
        query=query,
        dense_rows=np.asarray(dense, dtype=np.int64),
        **indexes(titles),
        terms=terms(),
        depth=10,
        allowed=None,
    )
    return [row for row, _ in ranked]


def test_an_arm_that_knows_nothing_leaves_the_dense_ranking_alone() -> None:
    assert fused_ids("量子纠缠", [2, 0, 3, 1]) == [2, 0, 3, 1]


def test_exact_model_number_comes_first_whatever_the_other_arms_say() -> None:
    assert fused_ids("price of wh1000xm4", [3, 2, 1, 0])[0] == 0
    assert fused_ids("gel 5 多少钱", [0, 1, 2, 3])[0] == 3  # "gel 5" is not "GEL-5": the keyword arm decides


def test_a_named_brand_lifts_its_products_even_from_a_chinese_query() -> None:
    # "索尼" is Sony in the general dictionary; the English catalog only knows "Sony".
    assert general_lexicon().zh_to_en["索尼"] == "sony"
    assert fused_ids("索尼耳机", [1, 2, 3, 0])[0] == 0


def test_the_dictionary_is_loaded_only_for_a_query_the_index_does_not_fully_know(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    loads: list[int] = []

    def counting_lexicon() -> Lexicon:
        loads.append(1)
        return general_lexicon()

    monkeypatch.setattr(crosslingual, "general_lexicon", counting_lexicon)
    arms, catalog_terms = indexes(TITLES), terms()
    dense = np.asarray([0, 1, 2, 3], dtype=np.int64)
    fuse(query="wireless headphones", dense_rows=dense, **arms, terms=catalog_terms, depth=10, allowed=None)
    assert loads == []  # every token known: no translation, no dictionary
    fuse(query="无线耳机", dense_rows=dense, **arms, terms=catalog_terms, depth=10, allowed=None)
    fuse(query="降噪耳机", dense_rows=dense, **arms, terms=catalog_terms, depth=10, allowed=None)
    assert loads == [1]  # loaded once for this catalog, on the first query that needed it


def test_chinese_documents_get_an_english_gloss_and_english_ones_none() -> None:
    assert {"rice", "cooker"} <= set(tokenize(english_gloss("九阳 智能电饭煲")))
    assert {"tent"} <= set(tokenize(english_gloss(TITLES_ZH[2])))
    assert english_gloss(TITLES[0]) == ""


def test_an_inflected_query_word_also_searches_its_base_form_the_gloss_knows() -> None:
    gloss = BM25Index.build(["game play laptop", "tent"])
    assert in_known_forms(gloss, ["gaming", "laptop", "camping"]) == ["gaming", "game", "laptop", "camping"]


def test_an_english_query_finds_a_chinese_only_product_through_its_gloss() -> None:
    # The dense arm puts the toothbrush first; neither the query nor the main keyword index shares a word, the
    # gloss arm ("tent" in 帐篷's gloss) brings the tent up; a query in Chinese does not use the gloss at all.
    assert fused_ids("camping tent", [3, 0, 1, 2], TITLES_ZH)[0] == 2
    assert fused_ids("帐篷", [3, 0, 1, 2], TITLES_ZH)[0] == 2
