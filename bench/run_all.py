"""`shopguide bench`: discover ``bench/bench_*.py``, run each ``run(quick)`` in its own process, one table + one JSON.

Each module runs in a child process so one benchmark's memory or crash cannot disturb the next; the child's peak
RSS is recorded beside its results, and the CPU seconds of the child and the processes it waited for (servers,
workers, the JVM when reaped): on a shared machine the wall clock also counts other jobs, the CPU seconds do not.
``--quick`` passes ``quick=True`` to every module (target: under 3 minutes).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import print_table, write_results

BENCH_DIR = Path(__file__).resolve().parent
CHILD = """
import json, resource, sys, time, importlib
name, quick, out = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
module = importlib.import_module("bench." + name)
started = time.perf_counter()
rows = module.run(quick)
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
with open(out, "w", encoding="utf-8") as handle:
    json.dump({"rows": rows, "seconds": elapsed, "peak_rss_mb": peak}, handle, default=str)
"""


def discover(only: list[str] | None = None) -> list[str]:
    """Module names ``bench_<area>`` in bench/, optionally only those whose area or name is listed."""
    names = sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))
    if only:
        wanted = {o.removeprefix("bench_") for o in only}
        names = [n for n in names if n.removeprefix("bench_") in wanted]
    return names


def run_module(name: str, quick: bool, timeout_s: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Run one module in a child process; a failure becomes a row with the error instead of an exception."""
    with tempfile.TemporaryDirectory(prefix="shopguide-bench-") as tmp:
        out = Path(tmp) / "out.json"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS", "1")}
        started, cpu_started = time.perf_counter(), _children_cpu_s()
        try:
            done = subprocess.run(
                [sys.executable, "-c", CHILD, name, "1" if quick else "0", str(out)],
                cwd=BENCH_DIR.parent,
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
            error = (
                None
                if done.returncode == 0 and out.exists()
                else (done.stderr.strip().splitlines() or ["failed"])[-1]
            )
        except subprocess.TimeoutExpired:
            error = f"timed out after {timeout_s:.0f}s"
        elapsed, cpu = time.perf_counter() - started, _children_cpu_s() - cpu_started
        if error is not None:
            row = {
                "bench": name.removeprefix("bench_"),
                "case": "error",
                "metric": "failed",
                "value": 0.0,
                "unit": "",
                "baseline": None,
                "baseline_value": None,
                "error": error,
            }
            return [row], {
                "module": name,
                "seconds": elapsed,
                "wall_seconds": elapsed,
                "cpu_seconds": cpu,
                "error": error,
            }
        payload = json.loads(out.read_text(encoding="utf-8"))
        return payload["rows"], {
            "module": name,
            "seconds": payload["seconds"],
            "wall_seconds": elapsed,  # with the child's start and imports
            "cpu_seconds": cpu,
            "peak_rss_mb": payload["peak_rss_mb"],
        }


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_all(quick: bool = False, only: list[str] | None = None, *, timeout_s: float = 3600) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    modules: list[dict[str, Any]] = []
    for name in discover(only):
        module_rows, info = run_module(name, quick, timeout_s)
        rows.extend(module_rows)
        modules.append(info)
        rows.append(
            {
                "bench": name.removeprefix("bench_"),
                "case": "(whole module)",
                "metric": "peak_rss",
                "value": float(info.get("peak_rss_mb", 0.0)),
                "unit": "MB",
                "baseline": None,
                "baseline_value": None,
            }
        )
    path = write_results(rows, "all" if not only else "_".join(only), quick=quick, meta={"modules": modules})
    return {"results": rows, "modules": modules, "path": str(path)}


def main(quick: bool = False, as_json: bool = False, only: list[str] | None = None) -> int:
    names = discover(only)
    if not names:
        print(f"no benchmark matches {only}; available: {', '.join(discover())}", file=sys.stderr)
        return 2
    report = run_all(quick, only)
    if as_json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    else:
        print_table(report["results"], title=f"ShopGuide benchmarks{' (quick)' if quick else ''}")
        for info in report["modules"]:
            status = (
                f"error: {info['error']}"
                if "error" in info
                else f"{info['seconds']:.1f}s, {info['cpu_seconds']:.1f} CPU-s, peak {info['peak_rss_mb']:.0f} MB"
            )
            print(f"  {info['module']}: {status}")
        total_s = sum(m["wall_seconds"] for m in report["modules"])
        total_cpu = sum(m["cpu_seconds"] for m in report["modules"])
        print(f"  all: {total_s:.1f}s, {total_cpu:.1f} CPU-s, load average {os.getloadavg()[0]:.1f}")
        print(f"results: {report['path']}")
    return 1 if any("error" in m for m in report["modules"]) else 0


if __name__ == "__main__":
    sys.exit(
        main(
            "--quick" in sys.argv,
            "--json" in sys.argv,
            [a.split("=", 1)[1] for a in sys.argv if a.startswith("--only=")] or None,
        )
    )
