"""PII masking applied before every LLM prompt, log line and trace.

``PiiMasker`` replaces personal data with placeholders that are stable per instance (one instance per
conversation): the same phone number is always ``[PHONE_1]``, so the model's reply stays coherent and
``.unmask`` can restore the user's own view. It covers names from the user record, phone numbers (Chinese
mobile, international, landlines), emails, Chinese resident ID numbers, bank card numbers and street
addresses in Chinese and English. When in doubt it masks: a false positive costs a word, a miss leaks PII.
Order ids, product ids, SKUs and prices are left alone (their shapes are excluded on purpose).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

# Kinds of PII, in the order they are masked: longer, more specific shapes first so that an 18-digit ID
# is not taken for a card and an email's digits are not taken for a phone.
KINDS: tuple[str, ...] = ("EMAIL", "ID", "CARD", "PHONE", "ADDRESS", "NAME")

PLACEHOLDER_RE = re.compile(r"\[(EMAIL|ID|CARD|PHONE|ADDRESS|NAME)_(\d+)\]")

_CJK = "\u4e00-\u9fff"
# Ids and SKUs glue letters, digits, '_' and '-' together; a PII number never touches those.
_NOT_ID_BEFORE = r"(?<![A-Za-z0-9_\-])"
_NOT_ID_AFTER = r"(?![A-Za-z0-9_])(?!-[A-Za-z0-9])"

EMAIL_RE = re.compile(
    r"(?<![A-Za-z0-9_.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)

# Chinese resident ID: 6-digit region, birth date 18xx-20xx, 3-digit sequence, check digit or X.
CN_ID_RE = re.compile(
    _NOT_ID_BEFORE + r"[1-9]\d{5}\s?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\s?\d{3}[\dXx]"
    r"(?![A-Za-z0-9_])"
)

# Bank cards: 13-19 digits, contiguous or in groups of 3-6 separated by single spaces or dashes.
CARD_RE = re.compile(
    _NOT_ID_BEFORE + r"(?:\d{3,6}(?:[ \-]\d{3,6}){0,4}[ \-]\d{1,6}|\d{13,19})" + _NOT_ID_AFTER
)
_CARD_CONTEXT_RE = re.compile(r"(?:卡|银行|账号|賬號|帐号|card|account|visa|master|amex|unionpay|iban)", re.I)

# Chinese mobile: 1[3-9]x xxxx xxxx, optional +86 / 0086 / 86 prefix, optional spaces or dashes.
CN_MOBILE_RE = re.compile(
    r"(?<![\d+])(?:(?:(?:\+|00)\s?)?86[\s\-]?|\(\+?86\)\s?)?1[3-9]\d(?:[\s\-]?\d{4}){2}(?!\d)"
)
# International: + or 00 country code then 6-14 more digits in groups.
# Possessive groups: a long digit run cannot be re-split among the groups (no exponential backtracking).
INTL_PHONE_RE = re.compile(r"(?<![A-Za-z0-9_+])(?:\+|00)[1-9]\d{0,2}+(?:[\s.\-]?\(?\d{1,5}+\)?){2,6}+(?!\d)")
# Landlines: Chinese area code 0xx(x) + 7-8 digits; North-American (555) 123-4567.
LANDLINE_RE = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:\(0\d{2,3}\)\s?|0\d{2,3}[\s\-]?)\d{7,8}(?:-\d{1,5})?(?!\d)"
    r"|(?<![A-Za-z0-9_\-])(?:\(\d{3}\)\s?|\d{3}[\s.\-])\d{3}[\s.\-]\d{4}(?![A-Za-z0-9_])"
)
# A bare number right after a phone keyword is a phone, whatever its shape.
PHONE_CONTEXT_RE = re.compile(
    r"(?P<lead>(?:电话|手机|手机号|号码|联系方式|座机|tel|phone|mobile|call|whatsapp|wechat|微信)[^\S\n]{0,2}"
    r"(?:号码|number|no\.?)?[^\S\n]{0,2}(?:是|为|:|：|is|#)?[^\S\n]{0,2})(?P<pii>\+?\d[\d\s\-().]{5,18}\d)(?!\d)",
    re.I,
)
# Old 15-digit IDs only with an explicit keyword (too close to other numbers otherwise).
ID_CONTEXT_RE = re.compile(
    r"(?P<lead>(?:身份证|身份证号|证件号|id\s?(?:card|number|no\.?)|passport)[^\S\n]{0,2}(?:号码|号)?[^\S\n]{0,2}"
    r"(?:是|为|:|：|is)?[^\S\n]{0,2})(?P<pii>[A-Za-z]?\d[\dXx\s]{6,20}[\dXx])",
    re.I,
)

# Chinese addresses are found from an unambiguous core (road + door number, district + road, estate +
# building) and grown left over the place names and right over building/unit/room numbers. No pattern nests
# unbounded repetitions, so even hostile input ("北京市上海市..." x 1000) is masked in linear time.
_ZH_CORES = (
    re.compile(r"(?:大道|路|街|巷|弄|胡同)\s?[0-9０-９]{1,6}(?:[\-－][0-9０-９]{1,4})?\s?[号號]"),
    re.compile(rf"(?<=[市区县])[{_CJK}0-9]{{1,10}}?(?:大道|路|街|巷|弄|胡同|道)"),
    re.compile(r"(?:小区|花园|公寓|大厦|新村|家园|苑)\s?[0-9A-Za-z]{1,6}\s?(?:号楼|栋|幢|座)"),
)
_ZH_UNIT = re.compile(
    rf"(?:\s?[{_CJK}A-Za-z]{{0,12}}?[0-9０-９A-Za-z]{{1,8}}\s?(?:号楼|号院|栋|幢|座|单元|层|楼|室|号|户))*"
)
_ZH_LEFT = re.compile(rf"(?:[{_CJK}0-9０-９]| (?=[{_CJK}]))*$")
_ZH_LEFT_MAX = 30
# Words that often precede an address and are not part of it: the address starts after the last of them.
_ADDRESS_LEAD_ZH = re.compile(
    r"住在|住址是|住址为|住址|地址是|地址为|地址|寄到|送到|发到|送至|寄至|改成|改为|位于|请|帮我|我家|在|到|是|为"
)


def _zh_address_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for core in _ZH_CORES:
        for match in core.finditer(text):
            window_start = max(0, match.start() - _ZH_LEFT_MAX)
            left = _ZH_LEFT.search(text, window_start, match.start())
            start = left.start() if left else match.start()
            leads = list(_ADDRESS_LEAD_ZH.finditer(text, start, match.start()))
            if leads:
                start = leads[-1].end()
            end = _ZH_UNIT.match(text, match.end()).end()
            spans.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


_STREET_EN = (
    r"(?:(?i:street|avenue|road|boulevard|lane|drive|court|terrace|parkway|highway|square|crescent|alley)"
    r"|St|Ave|Rd|Blvd|Ln|Dr|Ct|Way|Pl|Pkwy|Hwy|Sq|Cres"
    r"|View|Gardens|Close|Row|Mews|Heights|Walk|Park|Green|Circle|Plaza|Hill|Quay|Wharf)"
)
ADDRESS_EN_RE = re.compile(
    r"(?<![A-Za-z0-9_\-])(?:(?:Room|Rm|Flat|Apt|Unit|Suite)\.?\s*[\w\-]+,?\s*)?(?:No\.?\s*)?"
    r"\d{1,6}[A-Za-z]?,?\s+(?:[A-Za-z0-9][\w.'\-]*\s+){0,4}?" + _STREET_EN + r"(?![A-Za-z])\.?"
    r"(?:\s*,?\s*(?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|Room|Rm|#)\.?\s*#?[\w\-]+)?"
    r"(?:\s*,\s*[A-Z][a-z][A-Za-z.'\-]*(?:\s+[A-Z][a-z][A-Za-z.'\-]*){0,3}){0,3}"
    r"(?:\s*,?\s+[A-Z]{2}\s+\d{5}(?:-\d{4})?|\s+[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|\s*,?\s*\d{6}(?!\d))?"
)

# A house number, capitalised words and an apartment: an address whatever the street is called.
ADDRESS_EN_APT_RE = re.compile(
    r"(?<![A-Za-z0-9_\-])\d{1,6}[A-Za-z]?\s+[A-Z][A-Za-z.'\-]*(?:\s+[A-Z][A-Za-z.'\-]*){0,3},?\s*"
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|#)\.?\s*#?[\w\-]+"
    r"(?:\s*,\s*[A-Z][a-z][A-Za-z.'\-]*(?:\s+[A-Z][a-z][A-Za-z.'\-]*){0,3}){0,3}"
)

# Names that say they are names, for people the masker was not told about.
NAME_CONTEXT_RE = re.compile(
    rf"(?P<lead>(?:我叫|名字是|名字叫|姓名[:：]?\s*|收件人[:：]?\s*|联系人[:：]?\s*|收货人[:：]?\s*))(?P<pii>[{_CJK}]{{2,4}})"
    r"|(?P<lead2>(?:[Mm]y name is|[Nn]ame:|[Rr]ecipient:|[Cc]ontact:)\s*)(?P<pii2>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,2})"
)
_COMPOUND_SURNAMES = (
    "欧阳",
    "司马",
    "上官",
    "诸葛",
    "东方",
    "皇甫",
    "尉迟",
    "公孙",
    "慕容",
    "长孙",
    "司徒",
    "夏侯",
    "令狐",
    "宇文",
)
_HONORIFICS_ZH = r"(?:先生|女士|小姐|老师|太太|同学|经理)"


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _normalise(kind: str, value: str) -> str:
    """The identity of a value, so that '138 1234 5678' and '+86 13812345678' share one placeholder."""
    if kind in ("PHONE", "CARD"):
        digits = _digits(value)
        if kind == "PHONE":
            digits = digits[2:] if digits.startswith("86") and len(digits) == 13 else digits
            digits = digits[4:] if digits.startswith("0086") and len(digits) == 15 else digits
        return digits
    if kind == "ID":
        return re.sub(r"\s", "", value).upper()
    return re.sub(r"\s+", " ", value).strip().lower()


@dataclass
class _Person:
    placeholder_key: str  # the normalised full name, which owns the placeholder
    full: str
    parts: list[str] = field(default_factory=list)


class PiiMasker:
    """Masks PII with placeholders stable for the life of this instance; ``unmask`` reverses them."""

    def __init__(
        self, names: Iterable[str] = (), *, literals: Mapping[str, Iterable[str]] | None = None
    ) -> None:
        # kind -> normalised value -> placeholder; placeholder -> original text (first seen).
        self._by_value: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self._originals: dict[str, str] = {}
        self._people: list[_Person] = []
        self._literals: list[tuple[str, str]] = []
        for name in names:
            self.add_name(name)
        for kind, values in (literals or {}).items():
            for value in values:
                self.add_literal(kind, value)

    @classmethod
    def for_users(cls, users: Iterable[object]) -> PiiMasker:
        """A masker seeded with the names and exact contact values of these user records (``domain.models.User``)."""
        masker = cls()
        for user in users:
            if getattr(user, "name", None):
                masker.add_name(user.name)  # type: ignore[attr-defined]
            for attr, kind in (("phone", "PHONE"), ("email", "EMAIL"), ("address", "ADDRESS")):
                value = getattr(user, attr, None)
                if value:
                    masker.add_literal(kind, value)
        return masker

    # ----- configuration -----
    def add_name(self, name: str) -> None:
        name = (name or "").strip()
        if len(name) < 2:
            return
        parts: list[str] = []
        if re.search(f"[{_CJK}]", name):
            surname_len = 2 if name[:2] in _COMPOUND_SURNAMES and len(name) > 3 else 1
            given = name[surname_len:]
            if len(given) >= 2 and len(name) >= 3:
                parts.append(given)
            parts.append(name[:surname_len])  # only used with an honorific, see _mask_names
        else:
            parts = [p for p in re.split(r"[\s.\-]+", name) if len(p) >= 3]
        self._people.append(_Person(placeholder_key=_normalise("NAME", name), full=name, parts=parts))

    def add_literal(self, kind: str, value: str) -> None:
        """Always mask this exact value (e.g. the user's stored address), whatever its shape."""
        if kind not in KINDS or not value or len(value.strip()) < 4:
            return
        self._literals.append((kind, value.strip()))
        self._literals.sort(key=lambda kv: -len(kv[1]))

    # ----- placeholders -----
    def _placeholder(self, kind: str, raw: str, key: str | None = None) -> str:
        """The placeholder for ``raw``; whitespace around ``raw`` stays in the text, outside the placeholder."""
        core = raw.strip()
        key = key if key is not None else _normalise(kind, core)
        table = self._by_value[kind]
        if key not in table:
            table[key] = f"[{kind}_{len(table) + 1}]"
            self._originals[table[key]] = core
        lead = raw[: len(raw) - len(raw.lstrip())]
        trail = raw[len(raw.rstrip()) :]
        return lead + table[key] + trail

    @property
    def mapping(self) -> dict[str, str]:
        """Placeholder -> original text, for the user's own view and for tests."""
        return dict(self._originals)

    # ----- masking -----
    def mask(self, text: str | None) -> str:
        if not text:
            return text or ""
        for kind, value in self._literals:
            if value in text:
                text = text.replace(value, self._placeholder(kind, value))
        text = EMAIL_RE.sub(lambda m: self._placeholder("EMAIL", m.group()), text)
        text = _sub_context(ID_CONTEXT_RE, text, lambda v: self._placeholder("ID", v))
        text = CN_ID_RE.sub(lambda m: self._placeholder("ID", m.group()), text)
        text = CARD_RE.sub(self._card, text)
        text = _sub_context(PHONE_CONTEXT_RE, text, lambda v: self._placeholder("PHONE", v))
        for pattern in (CN_MOBILE_RE, INTL_PHONE_RE, LANDLINE_RE):
            text = pattern.sub(self._phone, text)
        text = self._mask_zh_addresses(text)
        text = ADDRESS_EN_RE.sub(lambda m: self._placeholder("ADDRESS", m.group()), text)
        text = ADDRESS_EN_APT_RE.sub(lambda m: self._placeholder("ADDRESS", m.group()), text)
        return self._mask_names(text)

    __call__ = mask

    def _card(self, match: re.Match[str]) -> str:
        raw = match.group()
        digits = _digits(raw)
        if not 13 <= len(digits) <= 19:
            return raw
        grouped = raw != digits
        context = text_before(match, 16)
        # Luhn keeps plain order numbers and timestamps; grouping or a keyword means a card anyway.
        if luhn_ok(digits) or grouped or _CARD_CONTEXT_RE.search(context):
            return self._placeholder("CARD", raw)
        return raw

    def _phone(self, match: re.Match[str]) -> str:
        raw = match.group()
        digits = _digits(raw)
        # E.164 allows 15 digits; a few more with a '+' still look like a phone, and masking is the safe side.
        if not 7 <= len(digits) <= (18 if raw.lstrip().startswith(("+", "00")) else 15):
            return raw
        return self._placeholder("PHONE", raw)

    def _mask_zh_addresses(self, text: str) -> str:
        pieces: list[str] = []
        done = 0
        for start, end in _zh_address_spans(text):
            raw = text[start:end]
            if "[" in raw or len(raw.strip()) < 3:  # inside a placeholder, or too short to be an address
                continue
            pieces += [text[done:start], self._placeholder("ADDRESS", raw)]
            done = end
        return "".join(pieces) + text[done:]

    def _mask_names(self, text: str) -> str:
        text = _sub_context(NAME_CONTEXT_RE, text, self._named)
        if not self._people:
            return text
        for person in sorted(self._people, key=lambda p: -len(p.full)):

            def placeholder(_match: re.Match[str], person: _Person = person) -> str:
                return self._placeholder("NAME", person.full, person.placeholder_key)

            text = _name_pattern(person.full, ignore_case=True).sub(placeholder, text)
            for part in person.parts:
                if re.search(f"[{_CJK}]", part) and len(part) <= 2 and part == person.full[: len(part)]:
                    # a bare surname is only a name with an honorific: 王先生, 欧阳女士
                    text = re.sub(re.escape(part) + f"(?={_HONORIFICS_ZH})", placeholder, text)
                else:
                    text = _name_pattern(part, ignore_case=False).sub(placeholder, text)
        return text

    def _named(self, value: str) -> str:
        key = _normalise("NAME", value)
        for person in self._people:
            if key == person.placeholder_key:
                return self._placeholder("NAME", person.full, key)
        return self._placeholder("NAME", value)

    def unmask(self, text: str | None) -> str:
        if not text:
            return text or ""
        return PLACEHOLDER_RE.sub(lambda m: self._originals.get(m.group(), m.group()), text)


def text_before(match: re.Match[str], width: int) -> str:
    return match.string[max(0, match.start() - width) : match.start()]


def _sub_context(pattern: re.Pattern[str], text: str, replace: Callable[[str], str]) -> str:
    """Replace the ``pii`` group of a keyword-led pattern, keeping the keyword."""

    def one(match: re.Match[str]) -> str:
        groups = match.groupdict()
        lead = groups.get("lead") if groups.get("lead") is not None else groups.get("lead2") or ""
        value = groups.get("pii") if groups.get("pii") is not None else groups.get("pii2") or ""
        if "[" in value:  # already a placeholder
            return match.group()
        return lead + replace(value)

    return pattern.sub(one, text)


_NAME_PATTERNS: dict[tuple[str, bool], re.Pattern[str]] = {}


def _name_pattern(name: str, *, ignore_case: bool) -> re.Pattern[str]:
    cached = _NAME_PATTERNS.get((name, ignore_case))
    if cached is None:
        escaped = r"\s+".join(re.escape(p) for p in name.split())
        if re.search(f"[{_CJK}]", name):
            cached = re.compile(escaped)
        else:  # latin names are whole words only: 'Ann' must not eat 'Annual'
            cached = re.compile(rf"(?<![A-Za-z]){escaped}(?![A-Za-z])", re.I if ignore_case else 0)
        if len(_NAME_PATTERNS) > 20_000:
            _NAME_PATTERNS.clear()
        _NAME_PATTERNS[(name, ignore_case)] = cached
    return cached


def mask_text(text: str | None) -> str:
    """Mask PII in one piece of text (logs, traces) with a throw-away masker."""
    return PiiMasker().mask(text)


class PiiLogFilter(logging.Filter):
    """Masks the message, arguments, exception text and stack of every record that passes a handler.

    Arguments keep their shape (a tuple stays a tuple, numbers stay numbers) so formatters that unpack
    ``record.args`` (uvicorn's access log) still work; PII that only appears once message and arguments are
    combined is caught by masking the formatted line, which then replaces both.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = mask_text(str(record.msg))
            if record.args:
                record.args = _mask_args(record.args)
            message = record.getMessage()
            masked = mask_text(message)
            if masked != message:
                record.msg, record.args = masked, None
        except Exception:  # a bad format string or a broken __str__ must not lose the line
            record.msg, record.args = mask_text(f"{record.msg!s} {record.args!r}"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def _mask_args(args: object) -> object:
    def one(value: object) -> object:
        if value is None or isinstance(value, bool | int | float):
            return value
        return mask_text(str(value))

    if isinstance(args, Mapping):
        return {key: one(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(one(value) for value in args)
    return one(args)


def contains_placeholder(text: str) -> bool:
    return bool(PLACEHOLDER_RE.search(text or ""))
