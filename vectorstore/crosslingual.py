"""Fusion that knows how much each arm can say, so one-language catalogs work for queries in either language.

Reciprocal rank fusion trusts every ranking equally. On an English-only catalog a Chinese query shares almost no
keyword with any document, and the few it does share (a single character, a number) make a noisy ranking that
drags the dense arm's good results down. So the hybrid ranking here fuses:

- the **dense** arm (multilingual embeddings: they cross languages on their own), weight 1;
- the **keyword** arm, weighted by the share of the query's tokens the keyword index knows, and dropped when it
  knows none;
- a **translated keyword** arm: the query put into the other language word by word with a lexicon (the catalog's
  own category-name pairs, over a short hand-written list of general shopping words, ``lexicon_zh_en.json``, over
  the general CC-CEDICT dictionary, ``vectorstore/dictionary.py``), used only when the keyword index does not
  know every query token and the lexicon translated every content word of the query, weighted by how much of
  the translation the index knows and by how much of the original query it did not know;
- **exact hits**: a model number (SKU) in the query puts that product first; a brand name in the query (or in
  its translation) adds an arm ranking that brand's products.

- a **gloss** keyword arm: the English gloss of each product's Chinese words, built at index time, searched with
  the query's own words when the main keyword index does not know all of them, weighted like the translated arm.
  The dictionary's own direction is Chinese -> English (CC-CEDICT's headwords are Chinese, its English side is
  definitions), so glossing Chinese documents, segmented by jieba in their whole context, is more reliable than
  rendering an English query in Chinese word by word. The reverse (Chinese glosses of English documents) was
  measured and dropped: Chinese queries over the English-only demo catalog fell from 0.908 to 0.846 recall@5.
"""

from __future__ import annotations

import json
import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

import numpy as np

from vectorstore.dictionary import base_forms, english_key, general_dictionary
from vectorstore.hybrid import BM25Index, rrf_fuse, top_k
from vectorstore.tokenize import STOP_EN, STOP_ZH, segment, stem, tokenize

LEXICON_PATH = Path(__file__).with_name("lexicon_zh_en.json")
SKU_FIRST = 1.0  # far above any RRF score (each arm adds at most weight / 61): an exact model number leads
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[-_./+'][a-z0-9]+)*")
_MAX_EN_WORDS = 4
_MAX_ZH_CHARS = 8
_MAX_ZH_WORDS = 4


@dataclass(frozen=True)
class Lexicon:
    """zh -> en words and en -> zh words; English keys are in ``english_key`` form (lower-case, plural-stripped)."""

    zh_to_en: Mapping[str, str]
    en_to_zh: Mapping[str, str]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str]]) -> Lexicon:
        zh_to_en: dict[str, str] = {}
        en_to_zh: dict[str, str] = {}
        for zh, en in pairs:
            zh, en = zh.strip(), en.strip().lower()
            if zh and en:
                zh_to_en.setdefault(zh, en)
                en_to_zh.setdefault(english_key(en), zh)
        return cls(zh_to_en, en_to_zh)

    def over(self, base: Lexicon) -> Lexicon:
        """This lexicon's words, falling back to ``base`` for the rest (a view: nothing is copied)."""
        return Lexicon(
            ChainMap(dict(self.zh_to_en), base.zh_to_en), ChainMap(dict(self.en_to_zh), base.en_to_zh)
        )

    def translate(self, query: str) -> tuple[str, float]:
        """(translation, coverage): Chinese words to English and English words to Chinese, longest phrase first.
        Chinese runs are cut into words by jieba (a word the lexicon lacks is tried character by character).
        What the lexicon does not know is kept when Latin (model numbers, brand names written the same in both
        languages) and dropped when Chinese. Coverage is the share of the query's content (words, stop words and
        model numbers aside) that was translated: a query translated in part says the wrong thing ("普洱茶" ->
        "tea" is every tea), so only a whole translation is used (``fuse``)."""
        out: list[str] = []
        translated = content = 0
        for run in re.finditer(
            rf"{_CJK_RUN.pattern}|{_LATIN_WORD.pattern}(?:\s+{_LATIN_WORD.pattern})*", query.lower()
        ):
            chunk = run.group()
            chinese = bool(_CJK_RUN.fullmatch(chunk))
            units = segment(chunk) if chinese else [stem(w) for w in chunk.split()]
            if chinese:
                words, done = _greedy(units, self.zh_to_en, _MAX_ZH_WORDS, "")
            else:
                words, done = _greedy(units, self.en_to_zh, _MAX_EN_WORDS, " ")
            out.extend(words)
            translated += done
            content += sum(1 for u in units if not _neutral(u))
        return " ".join(out), (min(1.0, translated / content) if content else 0.0)


def _stop(unit: str) -> bool:
    return unit in STOP_ZH or unit in STOP_EN


def _neutral(unit: str) -> bool:
    """Stop words need no translation, and model numbers are the same in every language."""
    return _stop(unit) or any(ch.isdigit() for ch in unit)


def _greedy(units: list[str], table: Mapping[str, str], longest: int, joiner: str) -> tuple[list[str], int]:
    """(output words, how many content units were translated) of a longest-match-first pass over ``units``.
    An English word the table lacks is tried in its base forms; a Chinese word the table lacks is matched
    character by character (counted translated only if all its characters are)."""
    out: list[str] = []
    done = i = 0
    while i < len(units):
        for n in range(min(longest, len(units) - i), 0, -1):
            phrase = joiner.join(units[i : i + n])
            if phrase in table and not (n == 1 and _stop(phrase)):
                out.append(table[phrase])
                done += sum(1 for u in units[i : i + n] if not _neutral(u))
                i += n
                break
        else:
            unit = units[i]
            if _stop(unit):  # a stop word alone says nothing in either language
                pass
            elif unit.isascii():  # unknown Latin words survive (their base form may be known: "cancelling")
                base = next((b for b in base_forms(unit) if b in table), None)
                out.append(table[base] if base else unit)
                done += int(base is not None and not _neutral(unit))
            elif len(unit) > 1:
                chars, known = _greedy(list(unit), table, _MAX_ZH_CHARS, "")
                out.extend(chars)
                done += int(known == sum(1 for ch in unit if not _neutral(ch)) and not _neutral(unit))
            i += 1
    return out, done


@cache
def shipped_lexicon() -> Lexicon:
    """The small hand-written lexicon of general shopping words CC-CEDICT renders badly (see the JSON's note)."""
    pairs = json.loads(LEXICON_PATH.read_text(encoding="utf-8"))["pairs"]
    return Lexicon.from_pairs([(zh, en) for zh, en in pairs])


@cache
def general_lexicon() -> Lexicon:
    """The shipped shopping words over the whole CC-CEDICT dictionary (loaded on first use, about a second)."""
    dictionary = general_dictionary()
    return shipped_lexicon().over(Lexicon(dictionary.zh_to_en, dictionary.en_to_zh))


def english_gloss(text: str) -> str:
    """The English gloss of the Chinese words in ``text`` (empty when it has none), for the gloss keyword arm."""
    return " ".join(gloss for run in _CJK_RUN.findall(text) if (gloss := _run_gloss(run)))


@lru_cache(maxsize=200_000)
def _run_gloss(run: str) -> str:
    # Catalogs repeat their runs (brands, attribute words, category names): cached, a 600-product rebuild
    # measured 1.15 ms per product uncached.
    return general_lexicon().translate(run)[0]


def _normalise_sku(text: str) -> str:
    return re.sub(r"[-_./+\s]", "", text.lower())


@dataclass
class CatalogTerms:
    """What the catalog itself names: its model numbers, brands, and category pairs, built once per snapshot."""

    own: Lexicon  # the catalog's own category-name pairs
    sku_rows: dict[str, np.ndarray] = field(default_factory=dict)
    latin_brands: dict[str, np.ndarray] = field(default_factory=dict)  # "la mer" -> rows
    cjk_brands: dict[str, np.ndarray] = field(default_factory=dict)
    _lexicon: Lexicon | None = None

    @property
    def lexicon(self) -> Lexicon:
        """The catalog's pairs over the general lexicon, which is loaded here, on the first query that needs it."""
        if self._lexicon is None:
            self._lexicon = self.own.over(general_lexicon())
        return self._lexicon

    @classmethod
    def build(
        cls, sku: np.ndarray, brand: np.ndarray, category: np.ndarray, category_zh: np.ndarray
    ) -> CatalogTerms:
        pairs = {
            (zh, str(slug).replace("-", " "))
            for slug, zh in zip(category.tolist(), category_zh.tolist(), strict=True)
            if zh and _CJK_RUN.search(zh) and not _CJK_RUN.search(str(slug))
        }
        terms = cls(Lexicon.from_pairs(sorted(pairs)))
        terms.sku_rows = _group_rows([_normalise_sku(s) if len(s) >= 3 else "" for s in sku.tolist()])
        brands = [str(b).strip().lower() for b in brand.tolist()]
        for name, rows in _group_rows(brands).items():
            (terms.cjk_brands if _CJK_RUN.search(name) else terms.latin_brands)[name] = rows
        return terms

    def sku_hits(self, query: str) -> np.ndarray:
        found = [
            self.sku_rows[key]
            for token in tokenize(query)
            if any(ch.isdigit() for ch in token) and (key := _normalise_sku(token)) in self.sku_rows
        ]
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)

    def brand_hits(self, *texts: str) -> np.ndarray:
        found: list[np.ndarray] = []
        for text in texts:
            low = text.lower()
            words = _LATIN_WORD.findall(low)
            for n in range(1, 4):
                for i in range(len(words) - n + 1):
                    rows = self.latin_brands.get(" ".join(words[i : i + n]))
                    if rows is not None:
                        found.append(rows)
            found.extend(rows for name, rows in self.cjk_brands.items() if name in low)
        return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _group_rows(keys: list[str]) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for row, key in enumerate(keys):
        if key:
            groups.setdefault(key, []).append(row)
    return {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}


def known_share(bm25: BM25Index, tokens: list[str]) -> float:
    """Share of the tokens that occur in the keyword index: how much the keyword arm can say about them."""
    if not tokens:
        return 0.0
    vocabulary = bm25.vocabulary()
    return sum(1 for t in tokens if t in vocabulary) / len(tokens)


def in_known_forms(bm25: BM25Index, tokens: list[str]) -> list[str]:
    """The tokens, each inflected English word followed by its first base form the index knows
    ("gaming" -> "gaming game"): glosses are dictionary forms, queries often are not."""
    vocabulary = bm25.vocabulary()
    out = []
    for token in tokens:
        out.append(token)
        base = next((b for b in base_forms(token) if b in vocabulary), None) if token.isascii() else None
        if base:
            out.append(base)
    return out


def fuse(
    *,
    query: str,
    dense_rows: np.ndarray,
    bm25: BM25Index,
    gloss: BM25Index,
    terms: CatalogTerms,
    depth: int,
    allowed: np.ndarray | None,
    dense_weight: float = 1.0,
    bm25_weight: float = 1.0,
) -> tuple[list[tuple[int, float]], np.ndarray]:
    """Hybrid ranking [(row, score)] and the keyword arm's own ranking (for the hits' ``bm25_rank``)."""
    rankings: list[list[int]] = [dense_rows.tolist()]
    weights: list[float] = [dense_weight]
    tokens = tokenize(query)
    share = known_share(bm25, tokens)
    bm25_rows = top_k(bm25.scores(tokens), depth, allowed, floor=0.0) if share > 0 else np.zeros(0, np.int64)
    if len(bm25_rows):
        rankings.append(bm25_rows.tolist())
        weights.append(bm25_weight * share)
    gloss_tokens = in_known_forms(gloss, tokens) if share < 1.0 else []
    gloss_share = known_share(gloss, gloss_tokens)
    if gloss_share > 0:
        rankings.append(top_k(gloss.scores(gloss_tokens), depth, allowed, floor=0.0).tolist())
        weights.append(bm25_weight * gloss_share * (1.0 - share))
    # Translate only what the keyword index does not already know (this is also what loads the dictionary).
    translated, coverage = terms.lexicon.translate(query) if share < 1.0 else ("", 0.0)
    if translated and coverage >= 1.0:  # a partial translation misleads more than it helps
        translated_tokens = tokenize(translated)
        weight = bm25_weight * known_share(bm25, translated_tokens) * (1.0 - share)
        if weight > 0:
            rankings.append(top_k(bm25.scores(translated_tokens), depth, allowed, floor=0.0).tolist())
            weights.append(weight)
    brand_rows = terms.brand_hits(query, translated)
    if len(brand_rows):
        if allowed is not None:
            brand_rows = brand_rows[allowed[brand_rows]]
        position = {int(r): i for i, r in enumerate(dense_rows.tolist())}
        ordered = sorted(brand_rows.tolist(), key=lambda r: position.get(int(r), len(position) + int(r)))
        rankings.append(ordered[:depth])
        weights.append(dense_weight)
    fused = dict(rrf_fuse(rankings, weights))
    for row in terms.sku_hits(query).tolist():
        if allowed is None or allowed[row]:
            fused[int(row)] = fused.get(int(row), 0.0) + SKU_FIRST
    ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return ranked, bm25_rows
