"""Growth curves: ingestion and batch scoring time and peak memory at 10k, 100k, 1M and 10M synthetic users.

Each point runs in a fresh child process, so its peak RSS (``resource.getrusage``) belongs to that point alone.
- ``ingest``: N users (PII encrypted), N orders and their ~1.9N order lines, written as CSV in streamed chunks and
  ingested with the real ``ingest_path`` into a fresh SQLite store.
- ``score-all``: ``shopguide score --all`` on that store, i.e. ``ValueService.train()`` (on a sample of
  ``value_train_users``) then the streamed ``assess_all`` to a Parquet file and the ``value_assessments`` table.
- ``scoring``: the engine alone on in-memory synthetic transactions (``bench.bench_scoring.growth_point``): the
  model's own cost, without the store.

Run: ``python -m bench.growth [--sizes 10000,100000,1000000] [--json]`` or ``shopguide bench-growth``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import RESULTS_DIR, TreeRssSampler, write_results
from bench.bench_ingest import write_synthetic
from domain.ingest import ingest_path
from domain.settings import Settings
from domain.store.db import get_engine
from valuation.service import ValueService

DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


def _store_settings(root: Path) -> Any:
    return Settings(data_dir=root / "store", llm="none", database_url="", encryption_key="", chroma_url="")


def ingest_point(n_users: int, root: Path | None = None) -> dict[str, Any]:
    """One growth point, in this process: generate files, ingest users, orders and lines, report time and RSS.
    The store is left in ``root`` when given (for the ``score-all`` point), else deleted."""
    import resource

    keep = root is not None
    root = root or Path(tempfile.mkdtemp(prefix=f"shopguide-growth-{n_users}-"))
    try:
        started = time.perf_counter()
        files = write_synthetic(root / "files", n_users=n_users, n_orders=n_users, n_products=500)
        generate_s = time.perf_counter() - started
        settings = _store_settings(root)
        seconds: dict[str, float] = {}
        rows: dict[str, int] = {}
        for kind in ("products", "users", "orders", "order_lines"):
            summary = ingest_path(settings, files[kind], kind, progress=False, batch_size=10_000)  # type: ignore[arg-type]
            if summary.rejected:
                raise RuntimeError(f"{kind}: {summary.rejected} rows rejected in a synthetic file")
            seconds[kind], rows[kind] = summary.seconds, summary.read
        total_s = sum(seconds[k] for k in ("users", "orders", "order_lines"))
        total_rows = sum(rows[k] for k in ("users", "orders", "order_lines"))
        return {
            "what": "ingest",
            "n_users": n_users,
            "seconds": total_s,
            "rows": total_rows,
            "rows_per_s": total_rows / total_s,
            "per_kind_rows_per_s": {k: rows[k] / seconds[k] for k in ("users", "orders", "order_lines")},
            "generate_seconds": generate_s,
            "db_mb": (root / "store" / "shopguide.db").stat().st_size / 2**20,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            # CPU seconds of the whole point (generation included): comparable even on a busy shared machine.
            "cpu_seconds": (lambda u: u.ru_utime + u.ru_stime)(resource.getrusage(resource.RUSAGE_SELF)),
        }
    finally:
        shutil.rmtree(root / "files", ignore_errors=True)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def score_all_point(n_users: int, root: Path) -> dict[str, Any]:
    """``shopguide score --all --out scores.parquet`` on the store in ``root``, in this process."""
    import resource

    settings = _store_settings(root)
    service = ValueService(settings)
    started = time.perf_counter()
    meta = service.train()
    train_s = time.perf_counter() - started
    train_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The scoring workers are separate processes: sample the whole process tree's RSS while they run.
    with TreeRssSampler() as tree:
        summary = service.assess_all(out=root / "scores.parquet", progress=False)
    get_engine(settings).dispose()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "what": "score-all",
        "n_users": n_users,
        "seconds": summary.seconds,
        "users_per_s": summary.users_per_s,
        "scored": summary.users,
        "train_seconds": train_s,
        "train_population": meta.get("population_users"),
        "out_mb": (root / "scores.parquet").stat().st_size / 2**20,
        "peak_rss_mb": max(train_peak_mb, tree.peak_mb),  # training alone, or scoring with its workers
        "train_peak_rss_mb": train_peak_mb,
        "scoring_tree_peak_rss_mb": tree.peak_mb,
        "workers": summary.workers,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


# Stores up to this size are built once and copied for each benchmark that scores one (`bench --quick` builds
# the same 20k-user store for score_all and spark; the ingest was a third of the quick run).
CACHED_STORE_MAX_USERS = 100_000
# Quick runs time the scoring, not the training: the engine trains on a sample of this many users.
QUICK_TRAIN_USERS = 5_000
STORE_CACHE = Path(tempfile.gettempdir()) / "shopguide-bench-stores"
_STORE_SOURCES = (
    "bench/bench_ingest.py", "domain/store/schema.py", "domain/ingest/pipeline.py", "domain/ingest/writer.py",
)  # fmt: skip


def _store_cache_key(n_users: int) -> str:
    """The cached store's name: its size and a digest of the code that generates and ingests it."""
    digest = hashlib.sha256()
    repo = Path(__file__).resolve().parents[1]
    for name in _STORE_SOURCES:
        path = repo / name
        digest.update(path.read_bytes() if path.exists() else name.encode())
    return f"{n_users}-{digest.hexdigest()[:12]}"


def synthetic_store(n_users: int, root: Path, timeout_s: float) -> dict[str, Any]:
    """A synthetic store of ``n_users`` in ``root/store`` (``ingest_point`` in a child process); small ones are
    built once into ``STORE_CACHE`` and copied, so every benchmark still scores a store of its own. Returns the
    ingest point (the cached one's when copied)."""
    if n_users > CACHED_STORE_MAX_USERS:
        point = run_point("ingest", n_users, timeout_s, root)
    else:
        cached = STORE_CACHE / _store_cache_key(n_users)
        if not (cached / "ingest.json").exists():
            shutil.rmtree(cached, ignore_errors=True)
            point = run_point("ingest", n_users, timeout_s, cached)
            if "error" in point:
                raise RuntimeError(f"building the store failed: {point['error']}")
            (cached / "ingest.json").write_text(json.dumps(point, default=str), encoding="utf-8")
        point = json.loads((cached / "ingest.json").read_text(encoding="utf-8"))
        shutil.copytree(cached / "store", root / "store", dirs_exist_ok=True)
    if "error" in point:
        raise RuntimeError(f"building the store failed: {point['error']}")
    return point


def run_point(
    what: str, n_users: int, timeout_s: float, root: Path | None = None, *, train_users: int | None = None
) -> dict[str, Any]:
    """One growth point in a fresh interpreter; ``train_users`` caps the engine's training sample
    (``SHOPGUIDE_VALUE_TRAIN_USERS``) of a ``score-all`` point."""
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from bench.growth import ingest_point, score_all_point\n"
        "n = int(sys.argv[2])\n"
        "root = Path(sys.argv[3]) if sys.argv[3] else None\n"
        "if sys.argv[1] == 'ingest':\n"
        "    point = ingest_point(n, root)\n"
        "elif sys.argv[1] == 'score-all':\n"
        "    point = score_all_point(n, root)\n"
        "else:\n"
        "    import resource\n"
        "    from bench.bench_scoring import growth_point\n"
        "    point = dict(growth_point(n))\n"
        "    point.setdefault('peak_rss_mb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)\n"
        "    point.update(what='scoring', n_users=n)\n"
        "print('GROWTH_POINT ' + json.dumps(point, default=str))\n"
    )
    env = {"SHOPGUIDE_VALUE_TRAIN_USERS": str(train_users)} if train_users else {}
    return run_child_point(
        code, [what, str(n_users), str(root or "")], "GROWTH_POINT", what, n_users, timeout_s, env=env
    )


def run_child_point(
    code: str,
    args: list[str],
    marker: str,
    what: str,
    n_users: int,
    timeout_s: float,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter (its peak memory is its own; ``env`` adds to the environment)
    and read the JSON line it prints after ``marker``; a timeout or a crash becomes a point with an ``error``."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired:
        return {"what": what, "n_users": n_users, "error": f"timed out after {timeout_s:.0f}s"}
    for line in done.stdout.splitlines():
        if line.startswith(marker + " "):
            return json.loads(line.removeprefix(marker + " "))
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"what": what, "n_users": n_users, "error": tail}


def scoring_available() -> bool:
    try:
        return importlib.util.find_spec("bench.bench_scoring") is not None and hasattr(
            importlib.import_module("bench.bench_scoring"), "growth_point"
        )
    except Exception:
        return False


def plot(points: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_time, ax_mem) = plt.subplots(1, 2, figsize=(11, 4.2))
    for what, marker in (("ingest", "o"), ("score-all", "D"), ("scoring", "s")):
        good = sorted(
            (p for p in points if p.get("what") == what and "error" not in p), key=lambda p: p["n_users"]
        )
        if not good:
            continue
        sizes = [p["n_users"] for p in good]
        ax_time.plot(sizes, [p["seconds"] for p in good], marker=marker, label=what)
        ax_mem.plot(sizes, [p["peak_rss_mb"] for p in good], marker=marker, label=what)
    for ax, label in ((ax_time, "time (s)"), (ax_mem, "peak RSS (MB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("users")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("ShopGuide growth: time and peak memory vs number of users")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_growth(sizes: list[int], *, timeout_s: float = 4 * 3600) -> list[dict[str, Any]]:
    points = []
    with_scoring = scoring_available()
    for n in sizes:
        root = Path(tempfile.mkdtemp(prefix=f"shopguide-growth-{n}-"))
        try:
            points.append(run_point("ingest", n, timeout_s, root))
            if "error" not in points[-1]:
                points.append(run_point("score-all", n, timeout_s, root))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        if with_scoring:
            points.append(run_point("scoring", n, timeout_s))
        else:
            points.append(
                {"what": "scoring", "n_users": n, "error": "bench.bench_scoring.growth_point not available"}
            )
        log_point = {k: points[-1].get(k) for k in ("what", "n_users", "seconds", "peak_rss_mb", "error")}
        print(f"growth: {log_point}", file=sys.stderr, flush=True)
    return points


def main(sizes: list[int] | None = None, out: Path | None = None, as_json: bool = False) -> int:
    sizes = sizes or list(DEFAULT_SIZES)
    points = run_growth(sizes)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    png = plot(points, out or RESULTS_DIR / f"growth_{stamp}.png")
    rows = [
        {
            "bench": "growth",
            "case": f"{p['what']} {p['n_users']:,} users",
            "metric": "seconds",
            "value": float(p.get("seconds", 0.0)),
            "unit": "s",
            "baseline": None,
            "baseline_value": None,
            **p,
        }
        for p in points
    ]
    path = write_results(rows, "growth", quick=False, meta={"plot": str(png)})
    if as_json:
        print(json.dumps({"points": points, "plot": str(png), "results": str(path)}, default=str))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Growth: time and peak memory per size")
        for col in ("what", "users", "seconds", "rows/s", "peak RSS MB", "note"):
            table.add_column(col, justify="left" if col in ("what", "note") else "right")
        for p in points:
            table.add_row(
                p["what"],
                f"{p['n_users']:,}",
                f"{p.get('seconds', 0):,.1f}" if "seconds" in p else "",
                f"{p.get('rows_per_s', p.get('users_per_s', 0)):,.0f}" if "error" not in p else "",
                f"{p.get('peak_rss_mb', 0):,.0f}" if "error" not in p else "",
                p.get("error", ""),
            )
        Console().print(table)
        print(f"plot: {png}\nresults: {path}")
    return 0 if all("error" not in p for p in points if p["what"] == "ingest") else 1


if __name__ == "__main__":
    chosen = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--sizes=")), None)
    sys.exit(main([int(s) for s in chosen.split(",")] if chosen else None, None, "--json" in sys.argv))
