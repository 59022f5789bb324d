"""`score --all` on an existing store, timed: wall seconds, users per second, CPU seconds of the whole process
tree (this process and its reaped scoring workers) and its peak RSS.

Unlike ``bench.growth``'s ``score-all`` point it does not retrain: the engine saved in the store is used (trained
first, on ``SHOPGUIDE_VALUE_TRAIN_USERS`` users, when there is none), so two code trees can each be timed on a
store of their own, one after the other.

Run: ``python -m bench.score_store STORE_ROOT [WORKERS] [OUT.parquet]`` where ``STORE_ROOT/store`` is a store built
by ``bench.growth`` (e.g. kept from ``ingest_point(n, root)``). Prints one ``RESULT {json}`` line.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

from bench import TreeRssSampler
from bench.growth import _store_settings
from valuation.service import ValueService


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def score_store(
    root: Path, workers: int | None = None, out: Path | None = None, *, chunk_users: int | None = None
) -> dict[str, Any]:
    service = ValueService(_store_settings(root))
    service.ensure_ready()
    own, children = _cpu_seconds(resource.RUSAGE_SELF), _cpu_seconds(resource.RUSAGE_CHILDREN)
    load_before, started = os.getloadavg(), time.perf_counter()
    with TreeRssSampler() as tree:
        summary = service.assess_all(out=out, progress=False, workers=workers, chunk_users=chunk_users)
    wall = time.perf_counter() - started
    own = _cpu_seconds(resource.RUSAGE_SELF) - own
    children = _cpu_seconds(resource.RUSAGE_CHILDREN) - children  # the workers, reaped when the pool closed
    return {
        "users": summary.users,
        "workers": summary.workers,
        "wall_s": round(wall, 1),
        "users_per_s": round(summary.users / wall),
        "parent_cpu_s": round(own, 1),
        "workers_cpu_s": round(children, 1),
        "users_per_cpu_s": round(summary.users / (own + children)),
        "tree_peak_rss_mb": round(tree.peak_mb),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "out": str(out) if out else None,
    }


if __name__ == "__main__":  # the scoring workers are spawned: they import this module, not run it
    print(
        "RESULT "
        + json.dumps(
            score_store(
                Path(sys.argv[1]),
                int(sys.argv[2]) if len(sys.argv) > 2 else None,
                Path(sys.argv[3]) if len(sys.argv) > 3 else None,
            )
        )
    )
