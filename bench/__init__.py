"""Benchmarks. Each ``bench/bench_<area>.py`` exposes ``run(quick: bool) -> list[dict]``; ``shopguide bench`` runs them all.

A result row has at least: bench, case, metric, value, unit, baseline (name or None), baseline_value (or None).
Helpers here let a module print the same table and write the same JSON when run on its own.
"""

from __future__ import annotations

import json
import resource
import sys
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
