"""Benchmarks. Each ``bench/bench_<area>.py`` exposes ``run(quick: bool) -> list[dict]``; ``shopguide bench`` runs them all.

A result row has at least: bench, case, metric, value, unit, baseline (name or None), baseline_value (or None).
Helpers here let a module print the same table and write the same JSON when run on its own.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def result(
    bench: str,
    case: str,
    metric: str,
    value: float,
    unit: str,
    baseline: str | None = None,
    baseline_value: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "bench": bench,
        "case": case,
        "metric": metric,
        "value": float(value),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": None if baseline_value is None else float(baseline_value),
        **extra,
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TreeRssSampler:
    """Peak resident memory of this process and all its descendants together, sampled from /proc every
    ``interval_s`` in a background thread (``ru_maxrss`` of children is useless for spawned workers: a forked
    child starts by sharing, and counting, all of its parent's pages)."""

    def __init__(self, interval_s: float = 0.25) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeRssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.peak_mb = max(self.peak_mb, tree_rss_mb(os.getpid()))
            if self._stop.wait(self.interval_s):
                return


def tree_rss_mb(root: int) -> float:
    """Current RSS (MB) of ``root`` and its descendants, from /proc (Linux)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [child for child, parent in parents.items() if parent == pid]
        tree.update(kids)
        frontier.extend(kids)
    total_kb = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def ratio(row: dict[str, Any]) -> str:
    base = row.get("baseline_value")
    if not base or not row.get("value"):
        return ""
    return f"{row['value'] / base:.2f}x"


def print_table(rows: list[dict[str, Any]], title: str = "ShopGuide benchmarks") -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col, justify in (
        ("bench", "left"),
        ("case", "left"),
        ("metric", "left"),
        ("value", "right"),
        ("unit", "left"),
        ("baseline", "left"),
        ("baseline value", "right"),
        ("ratio", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        base = row.get("baseline_value")
        table.add_row(
            str(row.get("bench", "")),
            str(row.get("case", "")),
            str(row.get("metric", "")),
            _fmt(row.get("value")),
            str(row.get("unit", "")),
            str(row.get("baseline") or ""),
            _fmt(base),
            ratio(row),
        )
    console = Console()
    if not console.is_terminal:  # piped or logged: do not squeeze the table into 80 columns
        console = Console(width=180)
    console.print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"
    return str(value)


def write_results(
    rows: list[dict[str, Any]], name: str, *, quick: bool, meta: dict[str, Any] | None = None
) -> Path:
    """Write ``bench/results/<timestamp>_<name>.json`` and return its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    path = RESULTS_DIR / f"{stamp}_{name}.json"
    payload = {
        "created_at": stamp,
        "quick": quick,
        "python": sys.version.split()[0],
        **(meta or {}),
        "results": rows,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def main_for(bench_name: str, run: Any) -> None:
    """``python -m bench.bench_<area> [--quick] [--json]`` for a module: run, print, write JSON."""
    quick = "--quick" in sys.argv
    rows = run(quick)
    path = write_results(rows, f"bench_{bench_name}", quick=quick)
    if "--json" in sys.argv:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        print_table(rows, title=f"bench_{bench_name}{' (quick)' if quick else ''}")
        print(f"results: {path}")
