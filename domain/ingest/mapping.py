"""From a shop's own columns and value formats to the domain model's fields, before validation.

``ColumnMapping`` is what the user says (``--map target=source``, ``--date-format``, or a TOML/YAML mapping
file); ``RecordNormaliser`` applies it, plus automatic column recognition (domain/ingest/aliases.py) and value
parsing (domain/ingest/values.py), to each raw row. Columns that map to no field are dropped and reported in the
summary instead of rejecting the row.

Mapping file (TOML; the same keys in YAML)::

    kind = "products"            # optional: what the file holds
    date_format = "%d/%m/%Y"     # optional: strptime layout of its dates
    [columns]                    # target field = the file's column
    title_en = "Product Name"
    price = "Sale Price (USD)"
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from domain.ingest.aliases import ALIASES, NEUTRAL_TEXT, recognise
from domain.ingest.values import (
    DateParser,
    derived_product_id,
    html_to_text,
    is_empty,
    language_of,
    parse_bool,
    parse_fraction,
    parse_int,
    parse_money,
    parse_rating,
    slug,
)


class MappingError(ValueError):
    """A mapping option or file that cannot be used (the message is meant for the user)."""


class ColumnMapping(BaseModel):
    columns: dict[str, str] = Field(default_factory=dict, description="target field -> the file's column")
    date_format: str | None = None
    kind: str | None = None

    @classmethod
    def from_options(cls, pairs: list[str], date_format: str | None = None) -> ColumnMapping:
        columns: dict[str, str] = {}
        for pair in pairs:
            target, sep, source = pair.partition("=")
            if not sep or not target.strip() or not source.strip():
                raise MappingError(f"--map takes target=source (e.g. title_en='Product Name'), got {pair!r}")
            columns[target.strip()] = source.strip()
        return cls(columns=columns, date_format=date_format)

    @classmethod
    def from_file(cls, path: Path) -> ColumnMapping:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if path.suffix.lower() == ".toml" else yaml.safe_load(text)
        except (OSError, tomllib.TOMLDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise MappingError(f"cannot read the mapping file {path.name}: {exc}") from exc
        try:
            return cls.model_validate(data or {})
        except ValidationError as exc:
            raise MappingError(
                f"mapping file {path.name}: {exc.errors(include_url=False)[0]['msg']}"
            ) from exc

    def merged(self, other: ColumnMapping | None) -> ColumnMapping:
        """This mapping with ``other``'s entries on top (command-line options over a mapping file)."""
        if other is None:
            return self
        return ColumnMapping(
            columns={**self.columns, **other.columns},
            date_format=other.date_format or self.date_format,
            kind=other.kind or self.kind,
        )


_ALWAYS_PARSED = frozenset({"products", "transactions"})
_ID_FIELDS = frozenset({"product_id", "user_id", "order_id", "review_id", "event_id", "session_id", "sku"})
_STATUS = {
    "refunded": "returned",
    "return": "returned",
    "partially_refunded": "paid",
    "pending": "placed",
    "authorized": "placed",
    "voided": "cancelled",
    "canceled": "cancelled",
    "fulfilled": "delivered",
    "completed": "delivered",
    "complete": "delivered",
}


def _identifier(value: Any) -> Any:
    """Ids exported through spreadsheets or pandas arrive as 17850.0: keep the digits, drop the ".0"."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        text = value.strip()
        return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text
    return value


def _language(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower()
        if low.startswith(("zh", "chinese", "中文", "cn")):
            return "zh"
        if low.startswith(("en", "english", "英文")):
            return "en"
    return value


def _status(value: Any) -> Any:
    if isinstance(value, str):
        low = value.strip().lower().replace(" ", "_")
        return _STATUS.get(low, low)
    return value


def _converters(kind: str, date_format: str | None) -> dict[str, Callable[[Any], Any]]:
    when = DateParser(date_format)

    converters: dict[str, Callable[[Any], Any]] = {
        "price": parse_money,
        "list_price": parse_money,
        "unit_price": parse_money,
        "discount": parse_money,
        "discount_pct": parse_fraction,
        "rating": parse_rating,
        "rating_count": parse_int,
        "stock": parse_int,
        "quantity": parse_int,
        "line_no": parse_int,
        "on_promotion": parse_bool,
        "signup_at": when,
        "created_at": when,
        "ts": when,
        "language": _language,
        "status": _status,
        "description": html_to_text,
        "description_en": html_to_text,
        "description_zh": html_to_text,
    }
    converters.update(dict.fromkeys(_ID_FIELDS, _identifier))
    if kind == "reviews":
        converters["rating"] = lambda v: parse_int(parse_rating(v))
    return converters


class RecordNormaliser:
    """Renames, parses and completes raw rows of one file; remembers which columns it had to ignore."""

    def __init__(
        self,
        kind: str,
        fields: set[str],
        mapping: ColumnMapping | None = None,
        silent: frozenset[str] = frozenset(),
    ) -> None:
        self.kind = kind
        self.fields = set(fields) | set(ALIASES.get(kind, {}))
        self.mapping = mapping or ColumnMapping()
        unknown = set(self.mapping.columns) - self.fields
        if unknown:
            raise MappingError(
                f"--map names no field of {kind}: {', '.join(sorted(unknown))} "
                f"(fields: {', '.join(sorted(self.fields))})"
            )
        self.silent = silent  # derived columns (in_stock, total, amount) are recomputed, not reported
        self.ignored: set[str] = set()
        self._converters = _converters(kind, self.mapping.date_format)
        self._plans: dict[tuple[str, ...], dict[str, str]] = {}
        self._fast: set[tuple[str, ...]] = set()  # column sets already in the model's terms
        self._last: tuple[str, ...] = ()
        self._last_plan: dict[str, str] = {}
        self._last_fast = False

    def _plan(self, columns: tuple[str, ...]) -> dict[str, str]:
        explicit = {source: target for target, source in self.mapping.columns.items() if source in columns}
        rest = [c for c in columns if c not in explicit]
        taken = set(explicit.values())
        auto = {
            source: target
            for source, target in recognise(self.kind, rest, self.fields).items()
            if target not in taken
        }
        plan = {**explicit, **auto}
        self.ignored.update(c for c in columns if c not in plan and c not in self.silent)
        # Catalogs and line items always go through the parsers (HTML, derived ids, returns): they are small,
        # or need it. Other kinds in the model's own column names take the fast path.
        if (
            self.kind in _ALWAYS_PARSED
            or self.mapping.date_format
            or any(plan.get(c, c) != c or (c not in plan and c not in self.silent) for c in columns)
        ):
            return plan
        self._fast.add(columns)
        return plan

    def __call__(self, data: dict[str, Any]) -> dict[str, Any]:
        """The row ready for validation. A file already in the model's own terms (every column a field, or a
        derived one) is passed through untouched: its values are parsed only if the model refuses them
        (``second_chance``), so clean exports ingest at full speed."""
        columns = tuple(data)
        if columns != self._last:  # rows of one file share their columns: one lookup per change, not per row
            plan = self._plans.get(columns)
            if plan is None:
                plan = self._plans[columns] = self._plan(columns)
            self._last, self._last_plan = columns, plan
            self._last_fast = columns in self._fast and self.silent.isdisjoint(columns)
        if self._last_fast:
            return data
        if columns in self._fast:
            return {k: v for k, v in data.items() if k not in self.silent}
        return self._convert(data, self._last_plan)

    def second_chance(self, raw: dict[str, Any], prepared: dict[str, Any]) -> dict[str, Any] | None:
        """For a row the model refused: its values parsed (money, dates, percentages...), if that changes
        anything and the row went through untouched; else None (the refusal stands)."""
        columns = tuple(raw)
        if columns not in self._fast:
            return None
        parsed = self._convert(raw, self._plans[columns])
        return parsed if parsed != prepared else None

    def _convert(self, data: dict[str, Any], plan: dict[str, str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        converters = self._converters
        for source, value in data.items():
            target = plan.get(source)
            if target is None:
                continue
            convert = converters.get(target)
            if convert is not None:
                if is_empty(value) and target not in ("discount_pct", "rating"):
                    continue  # "N/A", "-": no value, the model's default applies
                value = convert(value)
            out[target] = value
        if self.kind == "products":
            _complete_product(out)
        else:
            for neutral in NEUTRAL_TEXT:
                out.pop(neutral, None)
        return out


# A catalog that says nothing about stock is taken as selling what it lists: with the model's default of 0 every
# product would be hidden from shoppers as out of stock.
ASSUMED_STOCK = 1


def _complete_product(out: dict[str, Any]) -> None:
    """Language-neutral title/description go to the language their script says; ids and slugs are derived;
    a row without a stock figure is assumed available (``ASSUMED_STOCK``)."""
    out.setdefault("stock", ASSUMED_STOCK)
    for neutral in NEUTRAL_TEXT:
        text = out.pop(neutral, None)
        if isinstance(text, str) and text.strip():
            out.setdefault(f"{neutral}_{language_of(text)}", text)
    category = out.get("category")
    if isinstance(category, str) and category.strip():
        if language_of(category) == "zh":
            out.setdefault("category_zh", category.strip())
        out["category"] = slug(category)
    if "product_id" not in out:
        sku = out.get("sku")
        title = out.get("title_en") or out.get("title_zh")
        if isinstance(sku, str) and sku:
            out["product_id"] = sku
        elif isinstance(title, str) and title.strip():
            out["product_id"] = derived_product_id(title)
