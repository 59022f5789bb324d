"""Ingest a folder of a shop's own files: tell what each file holds, then load them in foreign-key order.

What a file holds comes from its name (``products.csv``, ``customers.jsonl``, ``invoices.csv``...) or, failing
that, from its columns: the kind whose required fields its columns cover (after column recognition). A file
``<name>.mapping.toml`` (or ``.yaml``/``.yml``) next to ``<name>.csv`` is its column mapping.
"""

from __future__ import annotations

from pathlib import Path

from domain.ingest.aliases import recognise
from domain.ingest.kinds import SPECS, kind_from_path
from domain.ingest.mapping import ColumnMapping, MappingError
from domain.ingest.pipeline import ingest_path
from domain.ingest.readers import FORMATS, ReadError, iter_records
from domain.ingest.report import IngestError, IngestSummary
from domain.ingest.transactions import TRANSACTIONS, LineItem
from domain.settings import Settings

# Load order: what others refer to first.
FOLDER_ORDER: tuple[str, ...] = (
    "products",
    "users",
    TRANSACTIONS,
    "orders",
    "order_lines",
    "reviews",
    "events",
)
MAPPING_SUFFIXES = (".mapping.toml", ".mapping.yaml", ".mapping.yml")

# Fields a file's columns must cover to be taken for this kind; any one of a tuple's names is enough.
_SIGNATURES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    (
        TRANSACTIONS,
        (("order_id",), ("user_id",), ("quantity",), ("unit_price",), ("product_id", "product_name")),
    ),
    ("order_lines", (("order_id",), ("product_id",), ("quantity",), ("unit_price",))),
    ("orders", (("order_id",), ("user_id",), ("created_at",))),
    ("reviews", (("review_id",), ("user_id",), ("product_id",), ("rating",))),
    ("events", (("event_id",), ("user_id",), ("kind",), ("ts",))),
    ("products", (("title", "title_en", "title_zh"), ("price",))),
    ("users", (("user_id",), ("signup_at",))),
)


def _fields(kind: str) -> set[str]:
    model = LineItem if kind == TRANSACTIONS else SPECS[kind].model
    return set(model.model_fields)


def sniff_kind(path: Path) -> str | None:
    """The kind named by the file name, else the first kind whose required fields the columns cover."""
    named = kind_from_path(path)
    if named is not None:
        return named
    try:
        first = next(iter(iter_records(path)), None)
    except (ReadError, OSError):
        return None
    if first is None or not isinstance(first.original, dict):
        return None
    columns = list(first.original)
    for kind, required in _SIGNATURES:
        covered = set(recognise(kind, columns, _fields(kind)).values())
        if all(any(name in covered for name in names) for names in required):
            return kind
    return None


def mapping_for(path: Path) -> ColumnMapping | None:
    for suffix in MAPPING_SUFFIXES:
        candidate = path.with_name(path.name.split(".")[0] + suffix)
        if candidate.is_file():
            return ColumnMapping.from_file(candidate)
    return None


def data_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.iterdir()
        if p.is_file()
        and p.suffix.lower() in FORMATS
        and not p.name.endswith(".rejects.jsonl")
        and not p.name.endswith(MAPPING_SUFFIXES)
    )


def plan_folder(directory: Path) -> list[tuple[Path, str, ColumnMapping | None]]:
    """(file, kind, mapping) in load order; raises IngestError naming any file it cannot place."""
    directory = Path(directory)
    if not directory.is_dir():
        raise IngestError(f"no such folder: {directory}")
    planned: list[tuple[Path, str, ColumnMapping | None]] = []
    unknown: list[str] = []
    for path in data_files(directory):
        try:
            mapping = mapping_for(path)
        except MappingError as exc:
            raise IngestError(str(exc)) from exc
        kind = (mapping.kind if mapping else None) or sniff_kind(path)
        if kind is None:
            unknown.append(path.name)
        else:
            planned.append((path, kind, mapping))
    if unknown:
        raise IngestError(
            f"cannot tell what {', '.join(unknown)} hold: rename them (products, customers, transactions, ...) "
            'or add a <name>.mapping.toml with kind = "..."'
        )
    if not planned:
        raise IngestError(f"{directory} holds no .csv, .jsonl or .parquet file")
    return sorted(planned, key=lambda item: (FOLDER_ORDER.index(item[1]), item[0].name))


def ingest_folder(settings: Settings, directory: Path, *, progress: bool = True) -> list[IngestSummary]:
    return [
        ingest_path(settings, path, kind, mapping=mapping, progress=progress)
        for path, kind, mapping in plan_folder(directory)
    ]
