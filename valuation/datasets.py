"""Transaction datasets for evaluation: CDNOW (sample and master, shipped inside the ``lifetimes`` wheel), any
transaction CSV, and the demo shop. Every loader returns a ``Dataset``: a frame with ``user_id``, ``date``,
``amount`` (plus whatever optional columns the source has) and the default calibration/holdout dates.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from domain.settings import get_settings
from domain.store.db import get_engine
from domain.store.repository import transactions_frame

# The published CDNOW setting: 39-week calibration from 1997-01-01, 39-week holdout to 1998-06-30.
CDNOW_CALIBRATION_END = pd.Timestamp("1997-09-30")
CDNOW_HOLDOUT_END = pd.Timestamp("1998-06-30")


@dataclass
class Dataset:
    name: str
    transactions: pd.DataFrame
    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    time_unit: str = "W"  # the BTYD time unit used for this dataset ("W" weeks or "D" days)
    truth: pd.DataFrame | None = None  # optional hidden per-user truth (demo shop)
    # Targets of the holdout when they come from outside the transactions (the demo's hidden next year):
    # index user_id, columns purchases and spend. Used only with the default calibration/holdout dates.
    holdout_targets: pd.DataFrame | None = None
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def n_customers(self) -> int:
        return int(self.transactions["user_id"].nunique())


def _lifetimes_dataset_dir() -> Path:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the lifetimes package (which ships CDNOW) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets"


def load_cdnow(which: str = "sample") -> Dataset:
    """CDNOW sample (2,357 customers) or master (23,570); ``amount`` is the dollar value of each row."""
    base = _lifetimes_dataset_dir()
    if which == "sample":
        # no header: master_id, sample_id, date YYYYMMDD, number of CDs, dollars
        raw = pd.read_csv(
            base / "CDNOW_sample.txt",
            sep=r"\s+",
            header=None,
            names=["user_id", "sample_id", "date", "quantity", "amount"],
            dtype={"user_id": str, "sample_id": str, "date": str},
        )
    elif which == "master":
        raw = pd.read_csv(
            base / "CDNOW_master.txt",
            sep=r"\s+",
            header=0,
            names=["user_id", "date", "quantity", "amount"],
            dtype={"user_id": str, "date": str},
        )
    else:
        raise ValueError(f"CDNOW comes as 'sample' or 'master', not {which!r}")
    tx = pd.DataFrame(
        {
            "user_id": raw["user_id"].str.lstrip("0").replace("", "0"),
            "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"].astype(float),
            "quantity": raw["quantity"].astype(float),
        }
    )
    return Dataset(f"cdnow-{which}", tx, CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END, time_unit="W")


def load_csv(
    path: Path | str,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    date_format: str | None = None,
    calibration_end: pd.Timestamp | str | None = None,
    holdout_end: pd.Timestamp | str | None = None,
) -> Dataset:
    """Any transaction CSV with customer, date and amount columns (named by the caller).

    Without explicit dates, the holdout is the last third of the observed period and ends on the last date.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such transaction file: {path}")
    raw = pd.read_csv(path, dtype={customer_col: str})
    missing = [c for c in (customer_col, date_col, amount_col) if c not in raw.columns]
    if missing:
        raise ValueError(f"{path.name} lacks column(s) {missing}; columns are {list(raw.columns)}")
    tx = pd.DataFrame(
        {
            "user_id": raw[customer_col].astype(str),
            "date": pd.to_datetime(raw[date_col], format=date_format),
            "amount": pd.to_numeric(raw[amount_col], errors="coerce"),
        }
    ).dropna()
    if tx.empty:
        raise ValueError(f"{path.name} has no usable rows")
    first, last = tx["date"].min().normalize(), tx["date"].max().normalize()
    hold_end = pd.Timestamp(holdout_end) if holdout_end is not None else last
    cal_end = (
        pd.Timestamp(calibration_end) if calibration_end is not None else first + (hold_end - first) * 2 / 3
    ).normalize()
    return Dataset(path.stem, tx, cal_end, hold_end, time_unit="W")


def load_demo(settings: object | None = None, *, holdout_days: int = 365) -> Dataset:
    """The demo shop's order lines from the store, evaluated against its hidden truth when the data dir holds
    the generator's ``truth.parquet`` + ``manifest.json``: calibration = the whole visible history, holdout = the
    hidden next 12 months (``future_spend_12m``, ``future_orders_12m``). Without the truth, the last
    ``holdout_days`` of the history are the holdout."""
    import json

    settings = settings or get_settings()
    tx = transactions_frame(get_engine(settings))  # type: ignore[arg-type]
    if tx.empty:
        raise ValueError("the store holds no transactions: run `shopguide data demo` (or ingest) first")
    tx = tx.rename(columns={"created_at": "date"})
    last = pd.to_datetime(tx["date"]).max().normalize()
    data_dir = Path(getattr(settings, "data_dir", "."))
    truth_path = next(iter(sorted(data_dir.rglob("truth.parquet"))), None)
    manifest_path = truth_path.with_name("manifest.json") if truth_path else None
    if truth_path is None or manifest_path is None or not manifest_path.exists():
        cal_end = last - pd.Timedelta(days=holdout_days)
        return Dataset("demo", tx, cal_end, last, time_unit="D")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    truth = pd.read_parquet(truth_path)
    targets = pd.DataFrame(
        {
            "purchases": truth["future_orders_12m"].astype(float).to_numpy(),
            "spend": truth["future_spend_12m"].astype(float).to_numpy(),
        },
        index=pd.Index(truth["user_id"].astype(str), name="user_id"),
    )
    return Dataset(
        "demo",
        tx,
        pd.Timestamp(manifest["history_end"]),
        pd.Timestamp(manifest["future_end"]),
        time_unit="D",
        truth=truth,
        holdout_targets=targets,
        notes={"targets": "hidden truth: future_orders_12m (orders), future_spend_12m"},
    )


def load_dataset(name: str, **csv_options: object) -> Dataset:
    """Resolve ``cdnow-sample``, ``cdnow-master``, ``demo`` or a CSV path."""
    if name in ("cdnow-sample", "cdnow-master"):
        return load_cdnow(name.split("-", 1)[1])
    if name == "demo":
        return load_demo(csv_options.get("settings"))
    opts = {k: v for k, v in csv_options.items() if k != "settings" and v is not None}
    return load_csv(name, **opts)  # type: ignore[arg-type]
