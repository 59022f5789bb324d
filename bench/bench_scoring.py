"""Batch value scoring without an LLM: features -> BG/NBD + Gamma-Gamma -> LightGBM engine (prediction and
per-feature contributions) -> percentile score, over synthetic users, streamed in chunks.

Baseline in the same run: BG/NBD-only scoring (features -> BTYD -> percentile of BTYD expected spend).
``growth_point(n_users)`` scores ``n_users`` in chunks and reports time, users/s and peak RSS; the growth
benchmark calls it in a fresh subprocess per size, so peak RSS is the whole process's.

Synthetic users: first purchase uniform over two years, 1 + Poisson(2) purchases spread after it, log-normal
amounts. The engine is trained once (untimed) on 20k users of the same generator with a 365-day window.

Run: ``python -m bench.bench_scoring [--quick]`` (quick: 100k users, TreeSHAP on 20k of them; full: 1M, TreeSHAP on
200k).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuation.btyd import btyd_features
from valuation.features import transaction_features
from valuation.final_engine import EngineFrame, FinalEngine, engine_frame
from valuation.training import reference_percentiles

BENCH = "scoring"
START = pd.Timestamp("2023-01-01")
AS_OF = pd.Timestamp("2024-12-31")
HORIZON_DAYS = 365
CHUNK = 200_000
TRAIN_USERS = 20_000


def synthetic_transactions(
    n_users: int, *, seed: int, first_id: int = 0, span_days: int = 730
) -> pd.DataFrame:
    """One row per purchase: user_id (int), date, amount. Vectorised; ~3 rows per user."""
    rng = np.random.default_rng(seed)
    n_tx = 1 + np.minimum(rng.poisson(2.0, n_users), 40)
    first = rng.integers(0, span_days - 1, n_users)
    user = np.repeat(np.arange(first_id, first_id + n_users), n_tx)
    start = np.repeat(first, n_tx)
    is_first = np.r_[True, user[1:] != user[:-1]]
    offset = (rng.random(len(user)) * (span_days - start)).astype(np.int64)
    day = np.where(is_first, start, start + offset)
    base = np.repeat(rng.lognormal(3.5, 0.6, n_users), n_tx)
    amount = np.round(base * rng.lognormal(0.0, 0.3, len(user)), 2)
    return pd.DataFrame({"user_id": user, "date": START + pd.to_timedelta(day, unit="D"), "amount": amount})


class Scorer:
    """A trained engine plus the reference distribution that turns predicted spend into a 0-100 percentile."""

    def __init__(self, seed: int = 1) -> None:
        train_tx = synthetic_transactions(TRAIN_USERS, seed=seed, span_days=730 + HORIZON_DAYS)
        cutoff = AS_OF
        frame = engine_frame(
            train_tx, cutoff, HORIZON_DAYS, unit="D", window_end=cutoff + pd.Timedelta(days=HORIZON_DAYS)
        )
        assert frame.btyd is not None  # engine_frame fits it
        self.btyd = frame.btyd
        self.engine = FinalEngine().fit_frames([frame])
        self.reference = np.sort(self.engine.predict(frame)["rank_spend"].to_numpy())
        self.btyd_reference = np.sort(frame.X["btyd_spend_h"].to_numpy())

    def _frame(self, tx: pd.DataFrame) -> Any:
        feats = transaction_features(tx, AS_OF, freq="D")
        X = feats.join(btyd_features(feats, self.btyd, {"h": float(HORIZON_DAYS)}))
        return EngineFrame(X, self.btyd, float(HORIZON_DAYS))

    def score_engine(self, tx: pd.DataFrame, *, method: str = "path") -> pd.DataFrame:
        frame = self._frame(tx)
        pred = self.engine.predict(frame)
        contrib = self.engine.contributions(frame, method=method)
        top = contrib.drop(columns=["bias", "btyd_baseline"]).abs().to_numpy().argmax(axis=1)
        pred["score"] = reference_percentiles(self.reference, pred["rank_spend"].to_numpy())
        pred["top_feature"] = np.asarray(self.engine.columns)[top]
        return pred

    def score_btyd(self, tx: pd.DataFrame) -> pd.DataFrame:
        frame = self._frame(tx)
        spend = frame.X["btyd_spend_h"].to_numpy()
        return pd.DataFrame({"pred_spend": spend, "score": reference_percentiles(self.btyd_reference, spend)})


def _chunks(n_users: int, chunk: int, seed: int) -> Iterator[pd.DataFrame]:
    for i, first in enumerate(range(0, n_users, chunk)):
        yield synthetic_transactions(min(chunk, n_users - first), seed=seed + i, first_id=first)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def growth_point(
    n_users: int, *, chunk: int = CHUNK, mode: str = "engine", scorer: Scorer | None = None
) -> dict:
    """Score ``n_users`` synthetic users in chunks (data generation not timed); returns time, users/s, peak RSS.

    ``mode``: ``engine`` (path contributions), ``engine-shap`` (TreeSHAP contributions) or ``btyd`` (baseline).
    Memory stays flat in ``n_users``: only one chunk's transactions, features and predictions exist at a time,
    and per chunk only a checksum is kept (a real batch would append each chunk to a Parquet file).
    CPU seconds (all threads of this process) are reported next to wall seconds because the machine is shared."""
    scorer = scorer or Scorer()
    scorers = {
        "engine": scorer.score_engine,
        "engine-shap": lambda tx: scorer.score_engine(tx, method="shap"),
        "btyd": scorer.score_btyd,
    }
    score = scorers[mode]
    seconds, cpu, scored, checksum = 0.0, 0.0, 0, 0.0
    for tx in _chunks(n_users, chunk, seed=100):
        started, cpu_started = time.perf_counter(), time.process_time()
        out = score(tx)
        seconds += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        scored += len(out)
        checksum += float(out["score"].sum())
    return {
        "n_users": n_users,
        "scored": scored,
        "mode": mode,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "users_per_s": round(scored / seconds, 1) if seconds else float("nan"),
        "users_per_cpu_s": round(scored / cpu, 1) if cpu else float("nan"),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "mean_score": round(checksum / max(scored, 1), 2),
        "load_avg_1m": round(os.getloadavg()[0], 1),
    }


def run(quick: bool) -> list[dict]:
    n_users = 100_000 if quick else 1_000_000
    started = time.perf_counter()
    scorer = Scorer()
    train_s = time.perf_counter() - started
    engine = growth_point(n_users, scorer=scorer, mode="engine")
    btyd = growth_point(n_users, scorer=scorer, mode="btyd")
    # TreeSHAP is ~4x slower: measured on a slice (quick: 20k users, 3 s instead of the run's 14 s at 100k)
    shap_users = min(n_users, 20_000 if quick else 200_000)
    shap = growth_point(shap_users, scorer=scorer, mode="engine-shap")
    case = f"{n_users:,} synthetic users, chunks of {CHUNK:,}, load {engine['load_avg_1m']}"
    base = {"bench": BENCH, "case": case, "baseline": "bgnbd-only scoring"}
    none = {"bench": BENCH, "case": case, "baseline": None, "baseline_value": None}
    return [
        {
            **base,
            "metric": "engine_users_per_s",
            "value": engine["users_per_s"],
            "unit": "users/s",
            "baseline_value": btyd["users_per_s"],
        },
        {
            **base,
            "metric": "engine_users_per_cpu_s",
            "value": engine["users_per_cpu_s"],
            "unit": "users/cpu-s",
            "baseline_value": btyd["users_per_cpu_s"],
        },
        {
            **base,
            "metric": "engine_cpu_cost_vs_bgnbd_only",
            "value": round(engine["cpu_seconds"] / btyd["cpu_seconds"], 2),
            "unit": "x",
            "baseline_value": 1.0,
        },
        {
            **none,
            "metric": "engine_treeshap_users_per_cpu_s",
            "value": shap["users_per_cpu_s"],
            "unit": "users/cpu-s",
            "case": f"{shap_users:,} users, pred_contrib instead of path attribution",
            "baseline": "engine with path attribution",
            "baseline_value": engine["users_per_cpu_s"],
        },
        {
            **none,
            "metric": "peak_rss",
            "value": max(engine["peak_rss_mb"], shap["peak_rss_mb"]),
            "unit": "MiB",
        },
        {
            **none,
            "metric": "engine_train_seconds",
            "value": round(train_s, 2),
            "unit": "s",
            "case": f"{TRAIN_USERS:,} users, not in the throughput figures",
        },
    ]


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    rows = run(quick)
    out_dir = Path(__file__).resolve().parent / "results"
    out_dir.mkdir(exist_ok=True)
    path = out_dir / f"bench_{BENCH}{'_quick' if quick else ''}.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    width = max(len(r["metric"]) for r in rows)
    for r in rows:
        base = "" if r["baseline_value"] is None else f"   (baseline {r['baseline']}: {r['baseline_value']})"
        print(f"{r['metric']:<{width}}  {r['value']:>12,} {r['unit']}{base}")
    print(f"written: {path}")


if __name__ == "__main__":
    main(sys.argv[1:])
