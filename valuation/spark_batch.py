"""`shopguide score --all --engine spark`: the batch on Apache Spark, for stores that have outgrown one machine.

Input: Parquet tables with the columns of ``domain.store.parquet_export.PARQUET_TABLES`` (what
`shopguide export store --parquet DIR` writes, or a data lake's tables with those columns). Order lines are joined
to their orders, and every table's rows are tagged with their table and put in one frame, so that a customer's
lines, events, reviews and user row meet in one group. Customers are hashed into buckets of about
``chunk_users``; ``groupBy(bucket).applyInPandas`` hands each bucket to :func:`valuation.batch.assess_chunk`, the
same code the single-machine batch runs on one id range, with the trained engine broadcast once to every executor.
The output is the batch's assessment table (``valuation.batch.FLAT_COLUMNS``) as a Parquet directory.

Bad input is found before Spark starts (a missing path, table or column, an unreadable file): a clear
``SparkInputError`` and nothing written. The output appears under its name only when the job has finished.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
from sqlalchemy.engine import Engine

from domain.store.parquet_export import PARQUET_TABLES
from valuation.batch import (
    CHUNK_USERS,
    FLAT_COLUMNS,
    FLAT_SCHEMA,
    ScoringJob,
    assess_chunk,
    delete_other_runs,
    upsert_assessments,
)
from valuation.behaviour import prepare_events
from valuation.feature_matrix import ShopData, transactions_from_lines
from valuation.training import TrainedEngine

# Every table's rows in one frame: (column, Spark type). Missing columns of a table are typed nulls.
UNION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_part", "string"),
    ("user_id", "string"),
    ("signup_at", "timestamp"),
    ("language", "string"),
    ("order_id", "string"),
    ("created_at", "timestamp"),
    ("status", "string"),
    ("product_id", "string"),
    ("line_no", "bigint"),
    ("quantity", "double"),
    ("unit_price", "double"),
    ("discount", "double"),
    ("amount", "double"),
    ("kind", "string"),
    ("ts", "timestamp"),
    ("session_id", "string"),
    ("query", "string"),
    ("rating", "double"),
    ("text", "string"),
)
_PART_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("user_id", "signup_at", "language"),
    "tx": (
        "user_id",
        "order_id",
        "created_at",
        "status",
        "product_id",
        "line_no",
        "quantity",
        "unit_price",
        "discount",
        "amount",
    ),
    "ev": PARQUET_TABLES["events"].columns,
    "rv": PARQUET_TABLES["reviews"].columns,
}


class SparkInputError(ValueError):
    """The Parquet input cannot be scored (missing path, table or column, unreadable file)."""


@dataclass
class SparkInput:
    """The validated input: table name -> path (absent optional tables are left out), and the user count."""

    paths: dict[str, Path]
    n_users: int


@dataclass
class SparkSummary:
    users: int
    buckets: int
    seconds: float
    out: Path
    master: str

    @property
    def users_per_s(self) -> float:
        return self.users / self.seconds if self.seconds else float("nan")


def _table_path(root: Path, name: str) -> Path | None:
    for candidate in (root / f"{name}.parquet", root / name):
        if candidate.exists():
            return candidate
    return None


def parquet_columns(path: Path, required: tuple[str, ...], what: str) -> pads.Dataset:
    """The Parquet file or directory at ``path`` as a pyarrow dataset, checked for ``required`` columns; a clear
    ``SparkInputError`` naming ``what`` otherwise (missing, unreadable, or lacking a column)."""
    if not path.exists():
        raise SparkInputError(f"{what} {path} does not exist")
    try:
        dataset = pads.dataset(path, format="parquet")
        columns = set(dataset.schema.names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SparkInputError(f"{what} {path} is not readable Parquet: {exc}") from exc
    missing = [c for c in required if c not in columns]
    if missing:
        raise SparkInputError(f"{what} {path} lacks column(s) {missing}; it has {sorted(columns)}")
    nanos = [f.name for f in dataset.schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]
    if nanos:
        raise SparkInputError(
            f"{what} {path} stores {nanos} as nanosecond timestamps, which Spark cannot read: write them in "
            "microseconds (pyarrow: coerce_timestamps='us'; `shopguide export store --parquet` does)"
        )
    return dataset


def validate_input(input_dir: Path | str) -> SparkInput:
    """Check the input with pyarrow (no JVM): every required table exists, is readable Parquet and has the
    documented columns. Raises ``SparkInputError`` with the table, the file and what is wrong."""
    root = Path(input_dir)
    if not root.exists():
        raise SparkInputError(
            f"input path {root} does not exist (write one with `shopguide export store --parquet DIR`)"
        )
    if not root.is_dir():
        raise SparkInputError(f"input path {root} is not a directory of Parquet tables")
    paths: dict[str, Path] = {}
    n_users = 0
    for name, spec in PARQUET_TABLES.items():
        path = _table_path(root, name)
        if path is None:
            if spec.required:
                raise SparkInputError(f"input {root} has no {name} table ({name}.parquet or {name}/)")
            continue
        dataset = parquet_columns(path, spec.columns, f"{name} table")
        try:
            n_users = dataset.count_rows() if name == "users" else n_users
        except (pa.ArrowInvalid, OSError) as exc:
            raise SparkInputError(f"{name} table {path} is not readable Parquet: {exc}") from exc
        paths[name] = path
    return SparkInput(paths, n_users)


def spark_session(master: str, *, app_name: str = "shopguide-score") -> Any:
    """A SparkSession on ``master`` (``local[2]``, ``spark://host:7077``, ``yarn``) with the settings the batch
    relies on: UTC session time (naive timestamps keep their wall time), Arrow transfer, the Python of this
    process for the local workers."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise SparkInputError(
            "pyspark is not installed: pip install 'shopguide[spark]' (and a Java 17 runtime)"
        ) from exc
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    return (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.adaptive.enabled", "false")  # keep one task per bucket
        .config("spark.python.worker.reuse", "true")
        .getOrCreate()
    )


def _shop_data(frame: pd.DataFrame, products: pd.DataFrame) -> ShopData:
    """One bucket's rows (every table's, tagged by ``_part``) as the ``ShopData`` the store loader builds."""
    part = frame["_part"]

    def rows(name: str) -> pd.DataFrame:
        out = frame.loc[part == name, list(_PART_COLUMNS[name])].reset_index(drop=True)
        for col in ("signup_at", "created_at", "ts"):
            if col in out.columns:
                out[col] = pd.to_datetime(out[col]).astype("datetime64[ns]")
        return out

    users = rows("user").set_index("user_id")
    return ShopData(
        tx=transactions_from_lines(rows("tx"), products),
        events=prepare_events(rows("ev")),
        reviews=rows("rv"),
        users=users,
        products=products,
    )


def _union(spark: Any, source: SparkInput) -> Any:
    from pyspark.sql import functions as F

    def tagged(df: Any, part: str) -> Any:
        have = set(df.columns)
        return df.select(
            *(
                (F.lit(part) if col == "_part" else F.col(col) if col in have else F.lit(None))
                .cast(kind)
                .alias(col)
                for col, kind in UNION_COLUMNS
            )
        )

    read = {name: spark.read.parquet(str(path)) for name, path in source.paths.items()}
    lines = read["order_lines"].join(
        read["orders"].select("order_id", "user_id", "created_at", "status"), "order_id"
    )
    parts = [tagged(read["users"], "user"), tagged(lines, "tx")]
    if "events" in read:
        parts.append(tagged(read["events"], "ev"))
    if "reviews" in read:
        parts.append(tagged(read["reviews"], "rv"))
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union


def score_on_spark(
    job: ScoringJob,
    input_dir: Path | str,
    out_dir: Path | str,
    *,
    master: str = "local[2]",
    chunk_users: int = CHUNK_USERS,
    spark: Any = None,
) -> SparkSummary:
    """Score every user of the Parquet input on Spark into the Parquet directory ``out_dir`` (replaced when the
    job succeeds; untouched when it fails)."""
    started = time.perf_counter()
    source = validate_input(input_dir)
    out = Path(out_dir)
    if out.suffix in (".csv",):
        raise SparkInputError("--out is a Parquet directory on Spark, not a .csv file")
    session = spark or spark_session(master)
    from pyspark.sql import functions as F

    parallelism = session.sparkContext.defaultParallelism
    buckets = max(parallelism, math.ceil(source.n_users / max(chunk_users, 1)))
    products = pd.read_parquet(source.paths["products"]).set_index("product_id")
    job_bc = session.sparkContext.broadcast(job)
    products_bc = session.sparkContext.broadcast(products)
    union = _union(session, source).withColumn("_bucket", F.pmod(F.xxhash64("user_id"), F.lit(buckets)))

    def score_bucket(frame: pd.DataFrame) -> pd.DataFrame:  # runs on the executors
        return assess_chunk(job_bc.value, _shop_data(frame, products_bc.value))

    session.conf.set("spark.sql.shuffle.partitions", str(buckets))  # one task per bucket
    scored = union.groupBy("_bucket").applyInPandas(score_bucket, FLAT_SCHEMA)
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    scored.write.mode("overwrite").parquet(str(staging))
    users = pads.dataset(staging, format="parquet").count_rows()
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    staging.replace(out)
    job_bc.unpersist()
    products_bc.unpersist()
    return SparkSummary(users, buckets, time.perf_counter() - started, out, master)


def write_back(
    engine: Engine, scored: Path | str, trained: TrainedEngine, *, batch_rows: int = CHUNK_USERS
) -> int:
    """``--write-back``: upsert the scored table into the store's ``value_assessments`` in batches (one
    transaction each, as the single-machine batch commits its chunks), then drop rows of older runs."""
    dataset = parquet_columns(Path(scored), FLAT_COLUMNS, "scored table")
    written = 0
    for batch in dataset.to_batches(columns=list(FLAT_COLUMNS), batch_size=batch_rows):
        frame = batch.to_pandas()
        upsert_assessments(engine, frame)
        written += len(frame)
    delete_other_runs(engine, trained)
    return written
