"""cProfile of `score --all` on the first N chunks of an existing store: where the batch's time goes.

Run: ``python -m bench.profile_batch STORE_ROOT [N_CHUNKS] [OUT.prof]`` where ``STORE_ROOT/store`` is a store built by
``bench.growth`` (e.g. kept from ``ingest_point(n, root)``). Trains (or loads) the engine, then scores, explains and
upserts ``N_CHUNKS`` chunks in this process and prints users per CPU-second and the cumulative profile.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import resource
import sys
import time
from pathlib import Path

from bench.growth import _store_settings
from domain.store.db import get_engine
from domain.store.repository import iter_user_id_chunks
from valuation import batch, learned
from valuation.service import ValueService


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(root: Path, n_chunks: int = 2, out: Path | None = None) -> None:
    settings = _store_settings(root)
    service = ValueService(settings)
    service.ensure_ready()
    work = (settings, service.scoring_job())
    learned.PREDICT_THREADS = 1  # as in a score --all worker (several threads here spin on a shared machine)
    scopes = []
    for ids in iter_user_id_chunks(get_engine(settings), batch.CHUNK_USERS):
        scopes.append((ids[0], ids[-1]))
        if len(scopes) == n_chunks:
            break
    # CPU time, not wall: on a shared machine the wall clock charges other jobs' time to whatever was running.
    profile = cProfile.Profile(time.process_time)
    users, cpu, started = 0, _cpu_seconds(), time.perf_counter()
    profile.enable()
    for scope in scopes:
        users += len(batch._score_range(scope, work).flat)
    profile.disable()
    wall, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
    print(f"{users} users: {wall:.1f} s wall, {cpu:.1f} CPU-s, {users / cpu:,.0f} users per CPU-second")
    if out is not None:
        profile.dump_stats(out)
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
    print(text.getvalue())


if __name__ == "__main__":
    main(
        Path(sys.argv[1]),
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
        Path(sys.argv[3]) if len(sys.argv) > 3 else None,
    )
