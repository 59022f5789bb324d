"""Bilingual keyword tokenizer for BM25: jieba for Chinese runs, a model-number-aware splitter for Latin runs.

- Text is NFKC-normalised (full-width letters/digits become ASCII) and lower-cased; punctuation is dropped.
- Chinese runs go through ``jieba.lcut_for_search`` (words plus their sub-words), plus single characters, so
  "跑鞋" and "跑步鞋" still share keywords (jieba segments them differently).
- Latin runs keep compound model numbers intact AND split: "XR-550" -> "xr-550", "xr550", "xr", "550".
- English words get a light plural strip ("shoes" -> "shoe") and a few stop words are dropped in both languages.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
import warnings
from pathlib import Path
from types import ModuleType

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"([{_CJK}]+)|([a-z0-9]+(?:[-_./+][a-z0-9]+)*)")
_COMPOUND_SEP = re.compile(r"[-_./+]")

STOP_EN = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "for",
        "to",
        "in",
        "on",
        "with",
        "my",
        "me",
        "i",
        "you",
        "your",
        "is",
        "are",
        "be",
        "it",
        "this",
        "that",
        "some",
        "any",
        "want",
        "need",
        "looking",
        "find",
        "show",
        "please",
        "under",
        "over",
        "below",
        "above",
        "than",
        "about",
    ]
)
STOP_ZH = frozenset(
    [
        "的",
        "了",
        "和",
        "与",
        "及",
        "或",
        "在",
        "是",
        "我",
        "你",
        "要",
        "想",
        "买",
        "一个",
        "有",
        "吗",
        "呢",
        "给",
        "请",
        "帮",
        "找",
        "一些",
        "什么",
    ]
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def configure(cache_dir: Path | None = None) -> None:
    """Initialise jieba once, keeping its dictionary cache under our cache dir instead of /tmp."""
    global _jieba_ready
    with _jieba_lock:
        if _jieba_ready:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jieba imports pkg_resources
            import jieba

        jieba.setLogLevel(logging.WARNING)
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            jieba.dt.tmp_dir = str(cache_dir)
        jieba.initialize()
        _jieba_ready = True


def _jieba() -> ModuleType:
    """jieba, initialised (imported lazily: it costs start-up and only Chinese text needs it)."""
    if not _jieba_ready:
        configure()
    import jieba

    return jieba


def stem(word: str) -> str:
    """Light English plural strip ("shoes" -> "shoe"), the same for documents, queries and dictionary keys."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def word_frequency(word: str) -> int:
    """How often jieba's general Chinese corpus uses ``word`` (0 when it does not know it)."""
    return int(_jieba().dt.FREQ.get(word, 0))


def segment(text: str) -> list[str]:
    """Chinese text cut into words (jieba's precise mode), for word-by-word translation."""
    return [w for w in _jieba().lcut(text) if w.strip()]


def tokenize(text: str) -> list[str]:
    """Keyword tokens of one text (query or document); same function on both sides."""
    jieba = _jieba()
    norm = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    for cjk, latin in _RUN.findall(norm):
        if cjk:
            words = [w for w in jieba.lcut_for_search(cjk) if w not in STOP_ZH]
            tokens.extend(words)
            # Single characters bridge jieba's segmentation differences (跑鞋 / 跑步鞋); stop chars skipped.
            if len(cjk) > 1:
                tokens.extend(ch for ch in cjk if ch not in STOP_ZH)
        else:
            parts = [p for p in _COMPOUND_SEP.split(latin) if p]
            if len(parts) > 1:
                tokens.append(latin)
                tokens.append("".join(parts))
                tokens.extend(stem(p) for p in parts if p not in STOP_EN)
            elif latin not in STOP_EN:
                tokens.append(stem(latin))
    return tokens
