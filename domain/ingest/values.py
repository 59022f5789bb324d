"""Parsing of the values real exports carry: money with symbols and separators, percentages, counts, flags,
dates in the usual formats, HTML descriptions, and text whose language has to be told from its script.

Every parser returns the parsed value, or the input unchanged when it cannot make sense of it, so that the
domain model rejects the row with its own reason (the rejects file then shows what the file said).
"""

from __future__ import annotations

import hashlib
import html
import re
from datetime import datetime
from typing import Any

from domain.models import Language

_CURRENCY = re.compile(r"(?:US\$|HK\$|NT\$|C\$|A\$|RMB|CNY|USD|EUR|GBP|JPY|元|[$¥￥€£])", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d[\d.,'\s]*")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_TAG = re.compile(r"<[^>]+>")
_BLOCK_TAG = re.compile(r"<\s*(?:br|/p|/div|/li|/h\d|/tr)\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_TRUE = frozenset({"true", "yes", "y", "1", "t", "on", "是", "有", "promo", "sale"})
_FALSE = frozenset({"false", "no", "n", "0", "f", "off", "否", "无", "none", ""})
_EMPTY = frozenset({"", "-", "--", "n/a", "na", "none", "null", "nan", "无", "暂无"})

# Dates without an explicit --date-format: ISO first (fast path), then the layouts exports commonly use.
# Day-first and month-first cannot both be guessed: month-first (US exports such as "Online Retail") wins for
# "/" and day-first for "." ; pass --date-format when a file says otherwise.
_DATE_FORMATS: tuple[str, ...] = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%m/%d/%y %H:%M",
    "%m/%d/%y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%d %b %Y",
    "%b %d, %Y",
    "%d %B %Y",
    "%B %d, %Y",
)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().lower() in _EMPTY)


def parse_number(value: Any) -> Any:
    """A decimal number from text such as ``$1,299.00``, ``¥ 89``, ``€1.299,00``, ``1 299,5``, ``(12.50)``."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    negative = text.startswith("(") and text.endswith(")")
    found = _NUMBER.search(_CURRENCY.sub("", text))
    if found is None:
        return value
    number = re.sub(r"[\s']", "", found.group()).rstrip(".,")
    last_dot, last_comma = number.rfind("."), number.rfind(",")
    if last_dot >= 0 and last_comma >= 0:  # both: the later one is the decimal mark
        decimal = "." if last_dot > last_comma else ","
    elif last_comma >= 0:  # one comma before exactly 3 digits ("1,299") or several groups: thousands
        decimal = "" if number.count(",") > 1 or len(number) - last_comma - 1 == 3 else ","
    elif number.count(".") > 1:  # "1.299.000": dots as thousands separators
        decimal = ""
    else:
        decimal = "."
    thousands = {".": ",", ",": ".", "": ".,"}[decimal]
    for mark in thousands:
        number = number.replace(mark, "")
    number = number.replace(",", ".")
    try:
        parsed = float(number)
    except ValueError:
        return value
    return -parsed if negative else parsed


def parse_money(value: Any) -> Any:
    return parse_number(value)


def parse_int(value: Any) -> Any:
    """Counts such as ``1,234`` or ``12.0``; anything that is not a whole number is left to the model."""
    parsed = parse_number(value)
    if isinstance(parsed, float) and parsed.is_integer():
        return int(parsed)
    return parsed


def parse_fraction(value: Any) -> Any:
    """A discount as a fraction: ``20%``, ``20% off``, ``-20%``, ``0.2`` and a bare ``20`` all give 0.2."""
    if is_empty(value):
        return 0.0
    parsed = parse_number(value)
    if isinstance(parsed, int | float) and not isinstance(parsed, bool):
        parsed = abs(float(parsed))
        if (isinstance(value, str) and "%" in value) or parsed >= 1:  # 20 means 20 %, never 2000 %
            parsed /= 100
        return round(parsed, 6)
    return parsed


def parse_rating(value: Any) -> Any:
    """``4.5``, ``4.5/5``, ``4.5 out of 5 stars``; an empty rating means not rated (0)."""
    if is_empty(value):
        return 0.0
    if isinstance(value, str):
        found = re.search(r"\d+(?:[.,]\d+)?", value)
        if found is None:
            return value
        return float(found.group().replace(",", "."))
    return value


def parse_bool(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return value


class DateParser:
    """A datetime from ``date_format`` when given, else ISO 8601 or one of the usual export layouts. The layout
    that parsed the last value is tried first: a file keeps one layout, and each failed strptime costs ~0.1 ms."""

    def __init__(self, date_format: str | None = None) -> None:
        self.layouts = (date_format,) if date_format else _DATE_FORMATS
        self.strict = bool(date_format)
        self._first = 0

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not self.strict:
            try:
                datetime.fromisoformat(text)
                return text  # ISO: the model parses it (and keeps its time zone)
            except ValueError:
                pass
        order = (self._first, *(i for i in range(len(self.layouts)) if i != self._first))
        for i in order:
            try:
                parsed = datetime.strptime(text, self.layouts[i])
            except ValueError:
                continue
            self._first = i
            return parsed
        return value


def html_to_text(value: Any) -> Any:
    """Descriptions from shop exports are HTML: keep the words, drop tags, scripts and entities."""
    if not isinstance(value, str) or ("<" not in value and "&" not in value):
        return value
    text = _SCRIPT.sub(" ", value)
    text = _BLOCK_TAG.sub("\n", text)
    text = html.unescape(_TAG.sub(" ", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def language_of(text: str) -> Language:
    """Chinese when a tenth or more of the letters are CJK ideographs, else English."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "en"
    cjk = sum(1 for ch in letters if _CJK.match(ch))
    return "zh" if cjk * 10 >= len(letters) else "en"


def slug(text: str) -> str:
    """A category slug: ``Home Audio & Video`` -> ``home-audio-video``; Chinese text is kept as it is."""
    words = re.findall(rf"[a-z0-9]+|{_CJK.pattern}+", text.strip().lower())
    return "-".join(words)[:64] or text.strip()[:64]


def derived_product_id(name: str) -> str:
    """A stable id for a product known only by its name (catalogs without ids, transactions by name)."""
    key = re.sub(r"\s+", " ", name.strip().lower())
    return "p-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]
