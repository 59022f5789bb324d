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
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import and_, delete, func, not_, select
from sqlalchemy.engine import Engine
from tqdm import tqdm

from domain.ingest.writer import upsert_statement
from domain.models import Segment
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.repository import iter_user_id_chunks
from domain.store.schema import users, value_assessments
from valuation.btyd import BtydModels
from valuation.explain import feature_label, template_explanation
from valuation.feature_matrix import ShopData, drop_profile, feature_matrix, likely_categories, load_shop_data
from valuation.segments import assign_segments
from valuation.training import TrainedEngine, reference_percentiles, score_frame

CHUNK_USERS = 50_000
N_REASONS = 5
FLAT_COLUMNS: tuple[str, ...] = (
    "user_id",
    "as_of",
    "score",
    "segment",
    "predicted_spend_12m",
    "predicted_purchases_12m",
    "p_alive",
    "price_sensitivity",
    "churn_risk",
    "next_purchase_prob_30d",
    "explanation",
    "model_version",
)


class _Reason(NamedTuple):
    """``domain.models.Reason``'s fields, built a million times a run: a tuple, not a validated model."""

    feature: str
    value: float | None
    contribution: float
    label_en: str
    label_zh: str


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


def score_chunk(
    trained: TrainedEngine,
    data: ShopData,
    btyd: BtydModels,
    reference: np.ndarray,
    columns: pd.Index,
    *,
    user_ids: pd.Index | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(outputs with score, segment and likely categories; features) for ``user_ids``, by default the users of
    ``data`` registered by the engine's as-of date. ``columns`` are the training population's feature columns
    (a chunk may lack some); ``reference`` is its sorted raw predictions, the scale of every score."""
    as_of = trained.as_of
    if user_ids is None:
        user_ids = data.users.index[data.users["signup_at"] < as_of + pd.Timedelta(days=1)]
    X, _ = feature_matrix(data, as_of, btyd=btyd, user_ids=pd.Index(user_ids, name="user_id"))
    X = X.reindex(columns=columns)
    out = score_frame(trained, X)
    out["score"] = reference_percentiles(reference, out["raw_pred"].to_numpy())
    out["segment"] = assign_segments(out)
    cats = likely_categories(data, as_of)
    out["likely_categories"] = [list(cats.get(u, [])) for u in out.index]
    return out, X


def assessment_rows(
    trained: TrainedEngine,
    outputs: pd.DataFrame,
    features: pd.DataFrame,
    language: pd.Series,
    *,
    with_reasons: bool = True,
) -> list[dict[str, Any]]:
    """One ValueAssessment dict per row of ``outputs``: reasons are the top signed contributions, the
    explanation is templated in the user's language. Vectorised per call (contributions, top-k, labels), so the
    Python work per user is building its dict and its sentence."""
    X = features if trained.with_profile else drop_profile(features)
    names = trained.value_model.feature_names
    labels = [feature_label(n) for n in names]
    as_of = trained.as_of.date().isoformat()
    # Path attribution: the batch cost of reasons is a leaf lookup per tree, not TreeSHAP (see ValueModel).
    if with_reasons and len(X):
        contrib = trained.value_model.contributions(X, method="path").to_numpy()[:, : len(names)]
    else:
        contrib = np.zeros((len(X), len(names)))
    values = X.reindex(columns=names).to_numpy(dtype=float)
    contrib = np.where(np.isnan(contrib), 0.0, contrib)
    top = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, : N_REASONS if with_reasons else 0]
    cols = {c: outputs[c].to_numpy() for c in outputs.columns}
    langs = language.reindex(outputs.index).to_numpy()
    top_values = np.round(np.take_along_axis(values, top, axis=1), 3)
    top_contrib = np.round(np.take_along_axis(contrib, top, axis=1), 4)
    rows: list[dict[str, Any]] = []
    for i, uid in enumerate(outputs.index):
        reasons = [
            _Reason(names[f], None if v != v else v, c, labels[f][0], labels[f][1])
            for f, v, c in zip(top[i].tolist(), top_values[i].tolist(), top_contrib[i].tolist(), strict=True)
        ]
        segment = Segment(cols["segment"][i])
        score, spend = float(cols["score"][i]), float(cols["predicted_spend_12m"][i])
        lang = "en" if langs[i] == "en" else "zh"
        rows.append(
            {
                "user_id": uid,
                "as_of": as_of,
                "score": score,
                "segment": segment.value,
                "predicted_spend_12m": round(spend, 2),
                "predicted_purchases_12m": round(float(cols["predicted_purchases_12m"][i]), 3),
                "p_alive": round(float(cols["p_alive"][i]), 4),
                "price_sensitivity": round(float(cols["price_sensitivity"][i]), 3),
                "churn_risk": round(float(cols["churn_risk"][i]), 4),
                "next_purchase_prob_30d": round(float(cols["next_purchase_prob_30d"][i]), 4),
                "likely_categories": list(cols["likely_categories"][i]),
                "reasons": [r._asdict() for r in reasons],
                "explanation": template_explanation(lang, score, segment, spend, reasons),
                "model_version": trained.version,
            }
        )
    return rows


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

    def write(self, flat: pd.DataFrame) -> None:
        if self.path is None or not len(flat):
            return
        if self.path.suffix == ".csv":
            flat.to_csv(
                self._tmp, mode="a" if self._csv_started else "w", header=not self._csv_started, index=False
            )
            self._csv_started = True
            return
        table = pa.Table.from_pandas(flat, preserve_index=False)
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


def _upsert(engine: Engine, rows: list[dict[str, Any]]) -> None:
    records = [
        {
            "user_id": r["user_id"],
            "as_of": date.fromisoformat(str(r["as_of"])),
            "score": r["score"],
            "segment": r["segment"],
            "predicted_spend_12m": r["predicted_spend_12m"],
            "payload": r,
            "model_version": r["model_version"],
        }
        for r in rows
    ]
    if records:
        with engine.begin() as conn:
            conn.execute(upsert_statement(engine, value_assessments, ("user_id",)), records)


@dataclass
class _ChunkJob:
    """What every worker needs to score a chunk: built once per worker process, not once per chunk."""

    settings: Settings
    trained: TrainedEngine
    btyd: BtydModels
    reference: np.ndarray
    columns: pd.Index
    with_reasons: bool


@dataclass
class _ChunkResult:
    flat: pd.DataFrame
    segments: Counter[str]
    score_sum: float
    users_read: int


_WORKER_JOB: _ChunkJob | None = None


def _init_worker(job: _ChunkJob) -> None:
    global _WORKER_JOB
    _WORKER_JOB = job


def _score_range(scope: tuple[str, str], job: _ChunkJob | None = None) -> _ChunkResult:
    """Read, score, explain and store the users of one id range; returns the flat rows for the file."""
    job = job or _WORKER_JOB
    assert job is not None, "worker not initialised"
    engine = get_engine(job.settings)
    data = load_shop_data(engine, scope=scope)
    outputs, features = score_chunk(job.trained, data, job.btyd, job.reference, job.columns)
    rows = assessment_rows(
        job.trained, outputs, features, data.users["language"], with_reasons=job.with_reasons
    )
    _upsert(engine, rows)
    flat = pd.DataFrame({c: [r[c] for r in rows] for c in FLAT_COLUMNS})
    return _ChunkResult(flat, Counter(outputs["segment"]), float(outputs["score"].sum()), len(data.users))


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 4))


def stream_assessments(
    settings: Settings,
    trained: TrainedEngine,
    btyd: BtydModels,
    reference: np.ndarray,
    columns: pd.Index,
    *,
    out: Path | str | None = None,
    progress: bool = True,
    with_reasons: bool = True,
    chunk_users: int = CHUNK_USERS,
    workers: int | None = None,
) -> BatchSummary:
    """Assess every user of the store, chunk by chunk (see the module docstring).

    With more than one chunk, ``workers`` processes (default: the cores, up to 4) score chunks in parallel; this
    process walks the ids, keeps at most two chunks per worker in flight (bounded memory) and appends results
    to the file in id order. Each worker upserts its own chunk (SQLite serialises the writes)."""
    started = time.perf_counter()
    engine = get_engine(settings)
    job = _ChunkJob(settings, trained, btyd, reference, columns, with_reasons)
    writer = _FileWriter(Path(out) if out is not None else None)
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(users)).scalar_one())
    workers = workers or default_workers()
    bar = tqdm(total=total, desc="score --all", unit="user", disable=not progress, smoothing=0.1)
    summary = BatchSummary(0, 0, 0.0, writer.path)
    segments: Counter[str] = Counter()

    def consume(result: _ChunkResult) -> None:
        writer.write(result.flat)
        summary.users += len(result.flat)
        summary.chunks += 1
        summary.score_sum += result.score_sum
        segments.update(result.segments)
        bar.update(result.users_read)

    ranges = ((ids[0], ids[-1]) for ids in iter_user_id_chunks(engine, chunk_users))
    if workers == 1 or total <= chunk_users:
        summary.workers = 0
        for scope in ranges:
            consume(_score_range(scope, job))
    else:
        summary.workers = workers
        # spawn, not fork: a forked child would share the parent's pooled database connections.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker, initargs=(job,)
        ) as pool:
            pending: deque[Future[_ChunkResult]] = deque()
            for scope in ranges:
                pending.append(pool.submit(_score_range, scope))
                while len(pending) > 2 * workers:
                    consume(pending.popleft().result())
            while pending:
                consume(pending.popleft().result())
    bar.close()
    with engine.begin() as conn:  # rows of an older run this one did not rewrite (e.g. users now too new)
        this_run = and_(
            value_assessments.c.model_version == trained.version,
            value_assessments.c.as_of == trained.as_of.date(),
        )
        conn.execute(delete(value_assessments).where(not_(this_run)))
    writer.close()
    summary.segments = dict(segments)
    summary.seconds = time.perf_counter() - started
    return summary
