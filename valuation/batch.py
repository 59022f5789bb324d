"""`shopguide score --all`: every user's assessment without an LLM, streamed through the store.

Users are walked in id order, ``chunk_users`` at a time; for each id range only that range's orders, events and
reviews are read, scored with the trained engine, placed in the engine's reference ranking (the population it
was trained on, so a score means the same percentile in every chunk), explained from the model's own
contributions with templated sentences in each user's language, upserted into ``value_assessments`` and appended
to the output file. Memory holds one chunk whatever the number of users.

Each chunk commits on its own: a crash leaves complete assessments (the new run's or the previous one's, never a
half row), and re-running redoes the job. Rows of an older run that this run did not rewrite are deleted at the
end, so a finished run leaves exactly one row per scored user.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import and_, delete, func, not_, select
from sqlalchemy.engine import Engine
from tqdm import tqdm

from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import iter_user_id_chunks
from domain.store.schema import users, value_assessments
from valuation import learned
from valuation.assessment_table import FLAT_COLUMNS, assessment_payloads, assessment_table
from valuation.btyd import BtydModels
from valuation.feature_matrix import ShopData, feature_matrix, likely_categories, load_shop_data
from valuation.segments import assign_segments
from valuation.training import TrainedEngine, reference_percentiles, scored_and_explained

CHUNK_USERS = 50_000
# What a chunk's scoring sends back for the output file: the frame (CSV), an Arrow table (Parquet: its column
# buffers pickle as a few byte strings, where a frame's object columns pickle and unpickle string by string,
# and the parent would convert it to Arrow again) or nothing (no file: the parent needs only the counts).
RowsFormat = Literal["frame", "arrow", "none"]


@dataclass
class BatchSummary:
    users: int
    chunks: int
    seconds: float
    out: Path | None
    segments: dict[str, int] = field(default_factory=dict)
    score_sum: float = 0.0
    workers: int = 0  # processes that scored chunks (0: all in this process)

    @property
    def users_per_s(self) -> float:
        return self.users / self.seconds if self.seconds else float("nan")

    @property
    def mean_score(self) -> float | None:
        return round(self.score_sum / self.users, 2) if self.users else None


@dataclass
class ScoringJob:
    """What scoring a chunk needs, whatever runs it (a worker process, a Spark executor): the trained engine,
    its BTYD fit, the reference ranking (sorted raw predictions of the trained population: the scale of every
    score) and the population's feature columns (a chunk may lack some)."""

    trained: TrainedEngine
    btyd: BtydModels
    reference: np.ndarray
    columns: pd.Index
    with_reasons: bool = True


def score_chunk(
    trained: TrainedEngine,
    data: ShopData,
    btyd: BtydModels,
    reference: np.ndarray,
    columns: pd.Index,
    *,
    user_ids: pd.Index | None = None,
    explain: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]:
    """(outputs with score, segment and likely categories; features; with ``explain``, the value model's path
    contributions, the reasons, from the same walk of the trees as the predictions, else None) for
    ``user_ids``, by default the users of ``data`` registered by the engine's as-of date. ``columns`` are the
    training population's feature columns (a chunk may lack some); ``reference`` is its sorted raw
    predictions, the scale of every score."""
    as_of = trained.as_of
    if user_ids is None:
        user_ids = data.users.index[data.users["signup_at"] < as_of + pd.Timedelta(days=1)]
    X, _ = feature_matrix(data, as_of, btyd=btyd, user_ids=pd.Index(user_ids, name="user_id"))
    X = X.reindex(columns=columns)
    out, contributions = scored_and_explained(trained, X, explain=explain)
    out["score"] = reference_percentiles(reference, out["raw_pred"].to_numpy())
    out["segment"] = assign_segments(out)
    cats = likely_categories(data, as_of).reindex(out.index)
    out["likely_categories"] = [c if isinstance(c, list) else [] for c in cats.tolist()]
    return out, X, contributions


def assess_chunk(job: ScoringJob, data: ShopData) -> pd.DataFrame:
    """Score and explain the users of ``data`` (one id range, one Spark bucket): their assessment table."""
    outputs, features, contributions = score_chunk(
        job.trained, data, job.btyd, job.reference, job.columns, explain=job.with_reasons
    )
    return assessment_table(job.trained, outputs, features, data.users["language"], contributions)


class _FileWriter:
    """Appends flat rows chunk by chunk to a Parquet file (one row group per chunk) or a CSV file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._parquet: pq.ParquetWriter | None = None
        self._csv_started = False
        if path is not None:
            if path.suffix not in (".parquet", ".pq", ".csv"):
                raise ValueError(f"--out must end in .parquet or .csv, got {path.name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            self._tmp = path.with_name(path.name + ".partial")  # the final name appears only when complete

    @property
    def rows_format(self) -> RowsFormat:
        """What ``write`` takes from a chunk's scoring."""
        if self.path is None:
            return "none"
        return "frame" if self.path.suffix == ".csv" else "arrow"

    def write(self, flat: pd.DataFrame | pa.Table | None) -> None:
        if self.path is None or flat is None or not len(flat):
            return
        if self.path.suffix == ".csv":
            assert isinstance(flat, pd.DataFrame), "CSV rows come as a frame"
            flat.to_csv(
                self._tmp, mode="a" if self._csv_started else "w", header=not self._csv_started, index=False
            )
            self._csv_started = True
            return
        table = flat if isinstance(flat, pa.Table) else pa.Table.from_pandas(flat, preserve_index=False)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._tmp, table.schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        if self.path is None:
            return
        if self._parquet is not None:
            self._parquet.close()
        if self._parquet is None and not self._csv_started:  # nobody to write: still leave a valid empty file
            self.write_empty()
        self._tmp.replace(self.path)

    def write_empty(self) -> None:
        flat = pd.DataFrame({c: [] for c in FLAT_COLUMNS})
        if self.path is not None and self.path.suffix == ".csv":
            flat.to_csv(self._tmp, index=False)
        else:
            flat.to_parquet(self._tmp, index=False)


_UPSERT_COLUMNS: tuple[str, ...] = (
    "user_id", "as_of", "score", "segment", "predicted_spend_12m", "payload", "model_version",
)  # fmt: skip


def _upsert_sql(dialect: str) -> str:
    """One INSERT .. ON CONFLICT DO UPDATE for SQLite and PostgreSQL, the payload bound as ready JSON text."""
    mark = "?" if dialect == "sqlite" else "%s"
    values = [
        f"{mark}::json" if c == "payload" and dialect == "postgresql" else mark for c in _UPSERT_COLUMNS
    ]
    updates = ", ".join(f"{c} = excluded.{c}" for c in _UPSERT_COLUMNS if c != "user_id")
    return (
        f"INSERT INTO {value_assessments.name} ({', '.join(_UPSERT_COLUMNS)}) VALUES ({', '.join(values)}) "
        f"ON CONFLICT (user_id) DO UPDATE SET {updates}"
    )


def upsert_assessments(engine: Engine, table: pd.DataFrame) -> None:
    """Upsert rows of the assessment table into ``value_assessments`` in one transaction: one driver-level
    ``executemany`` of plain tuples, the payload JSON already written (no per-row dict, no second encode)."""
    if not len(table):
        return
    if engine.dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover - other dialects unsupported
        raise NotImplementedError(
            f"upsert is implemented for SQLite and PostgreSQL, not {engine.dialect.name}"
        )
    rows = list(
        zip(
            table["user_id"].tolist(),
            table["as_of"].tolist(),
            table["score"].tolist(),
            table["segment"].tolist(),
            table["predicted_spend_12m"].tolist(),
            assessment_payloads(table),
            table["model_version"].tolist(),
            strict=True,
        )
    )
    with engine.begin() as conn:
        conn.exec_driver_sql(_upsert_sql(engine.dialect.name), rows)


def delete_other_runs(engine: Engine, trained: TrainedEngine) -> None:
    """Delete the rows of an older run that this one did not rewrite (e.g. users now too new to score)."""
    with engine.begin() as conn:
        this_run = and_(
            value_assessments.c.model_version == trained.version,
            value_assessments.c.as_of == trained.as_of.date(),
        )
        conn.execute(delete(value_assessments).where(not_(this_run)))


@dataclass
class _ChunkResult:
    flat: pd.DataFrame | pa.Table | None  # the assessment table as ``RowsFormat`` asked (None: "none")
    scored: int
    segments: Counter[str]
    score_sum: float
    users_read: int


_WORKER: tuple[Settings, ScoringJob] | None = None


def _init_worker(settings: Settings, job: ScoringJob) -> None:
    """Built once per worker process, not once per chunk. The workers already share out the cores: a
    multi-threaded LightGBM predict in each would over-subscribe them (OpenMP threads spinning on each other)."""
    global _WORKER
    _WORKER = (settings, job)
    learned.PREDICT_THREADS = 1


def _score_range(
    scope: tuple[str, str], work: tuple[Settings, ScoringJob] | None = None, rows: RowsFormat = "frame"
) -> _ChunkResult:
    """Read, score, explain and store the users of one id range; returns the table rows for the file (as
    ``rows`` says) and the counts."""
    work = work or _WORKER
    assert work is not None, "worker not initialised"
    settings, job = work
    engine = get_engine(settings)
    data = load_shop_data(engine, scope=scope)
    flat = assess_chunk(job, data)
    upsert_assessments(engine, flat)
    out: pd.DataFrame | pa.Table | None = flat
    if rows == "arrow":
        out = pa.Table.from_pandas(flat, preserve_index=False)
    elif rows == "none":
        out = None
    return _ChunkResult(out, len(flat), Counter(flat["segment"]), float(flat["score"].sum()), len(data.users))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def stream_assessments(
    settings: Settings,
    job: ScoringJob,
    *,
    out: Path | str | None = None,
    progress: bool = True,
    chunk_users: int = CHUNK_USERS,
    workers: int | None = None,
) -> BatchSummary:
    """Assess every user of the store, chunk by chunk (see the module docstring).

    With more than one chunk, ``workers`` processes (default: the cores, up to 4) score chunks in parallel; this
    process walks the ids, keeps at most two chunks per worker in flight (bounded memory) and appends results
    to the file in id order. Each worker upserts its own chunk (SQLite serialises the writes)."""
    started = time.perf_counter()
    engine = get_engine(settings)
    writer = _FileWriter(Path(out) if out is not None else None)
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(users)).scalar_one())
    workers = workers or default_workers()
    bar = tqdm(total=total, desc="score --all", unit="user", disable=not progress, smoothing=0.1)
    summary = BatchSummary(0, 0, 0.0, writer.path)
    segments: Counter[str] = Counter()

    def consume(result: _ChunkResult) -> None:
        writer.write(result.flat)
        summary.users += result.scored
        summary.chunks += 1
        summary.score_sum += result.score_sum
        segments.update(result.segments)
        bar.update(result.users_read)

    ranges = ((ids[0], ids[-1]) for ids in iter_user_id_chunks(engine, chunk_users))
    if workers == 1 or total <= chunk_users:
        summary.workers = 0
        for scope in ranges:
            consume(_score_range(scope, (settings, job), writer.rows_format))
    else:
        summary.workers = workers
        # spawn, not fork: a forked child would share the parent's pooled database connections.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(settings, job)
        ) as pool:
            pending: deque[Future[_ChunkResult]] = deque()
            for scope in ranges:
                pending.append(pool.submit(_score_range, scope, None, writer.rows_format))
                while len(pending) > 2 * workers:
                    consume(pending.popleft().result())
            while pending:
                consume(pending.popleft().result())
    bar.close()
    delete_other_runs(engine, job.trained)
    writer.close()
    summary.segments = dict(segments)
    summary.seconds = time.perf_counter() - started
    return summary
