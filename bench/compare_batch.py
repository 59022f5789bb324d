"""A/B of `score --all` chunk cost between code trees, alternated in one run, and a check that their outputs agree.

Run: ``python -m bench.compare_batch STORE_ROOT TREE_A TREE_B [ROUNDS]`` where ``STORE_ROOT/store`` is a store built
by ``bench.growth`` (e.g. kept from ``ingest_point(n, root)``, its engine already trained, e.g. by
``bench.profile_batch``) and each tree is a checkout of this repository (``git archive REV | tar -x -C DIR``).
``STORE_ROOT`` may be ``ROOT_A,ROOT_B``, one copy of the store per tree, when the trees' engine versions differ
(each keeps its own saved engine instead of retraining over the other's).
Each round runs one fresh interpreter per tree, A then B then B then A..., which reads, scores, explains and
upserts the store's first chunk the way a ``score --all`` worker does (one LightGBM thread) and reports users per
CPU-second; CPU time, not wall, because this machine is shared. The first round of each tree also saves its
assessment table and payloads; they must be equal, column by column (floats exactly).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

CHILD = """
import json, resource, sys
from pathlib import Path
from bench.growth import _store_settings
from domain.store.db import get_engine
from domain.store.repository import iter_user_id_chunks
from valuation import batch, learned
from valuation.assessment_table import assessment_payloads
from valuation.service import ValueService

settings = _store_settings(Path(sys.argv[1]))
job = ValueService(settings).scoring_job()
learned.PREDICT_THREADS = 1  # as in a score --all worker
ids = next(iter_user_id_chunks(get_engine(settings), batch.CHUNK_USERS))
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime
flat = batch._score_range((ids[0], ids[-1]), (settings, job)).flat
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu = usage.ru_utime + usage.ru_stime - cpu
if sys.argv[2]:
    flat.assign(payload=assessment_payloads(flat)).to_parquet(sys.argv[2])
print("AB " + json.dumps({"users": len(flat), "cpu_s": cpu}))
"""


def run_tree(tree: Path, store_root: Path, save: Path | None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(store_root), str(save or "")],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "OPENBLAS_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("AB "):
            return json.loads(line[3:])
    raise RuntimeError(f"{tree}: {(done.stderr.strip().splitlines() or ['no output'])[-1]}")


def differences(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """Columns whose values differ (floats compared exactly, NaN equal to NaN), with how many rows differ."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return [f"shape or columns: {list(a.columns)} x {len(a)} vs {list(b.columns)} x {len(b)}"]
    return [
        f"{c} ({int((a[c].ne(b[c]) & ~(a[c].isna() & b[c].isna())).sum())} rows)"
        for c in a.columns
        if not a[c].equals(b[c])
    ]


def main(store_roots: list[Path], trees: list[Path], rounds: int = 3) -> None:
    roots = dict(zip(trees, store_roots if len(store_roots) > 1 else store_roots * len(trees), strict=True))
    with tempfile.TemporaryDirectory(prefix="shopguide-ab-") as tmp:
        saved = {tree: Path(tmp) / f"{i}.parquet" for i, tree in enumerate(trees)}
        rates: dict[Path, list[float]] = {tree: [] for tree in trees}
        for r in range(rounds):
            for tree in trees if r % 2 == 0 else trees[::-1]:
                point = run_tree(tree, roots[tree], saved[tree] if r == 0 else None)
                rates[tree].append(point["users"] / point["cpu_s"])
                print(
                    f"round {r} {tree}: {point['users']} users, {rates[tree][-1]:,.0f} users per CPU-second"
                )
        for tree in trees:
            print(f"{tree}: " + " / ".join(f"{v:,.0f}" for v in rates[tree]) + " users per CPU-second")
        first, *others = trees
        for other in others:
            diff = differences(pd.read_parquet(saved[first]), pd.read_parquet(saved[other]))
            print(f"outputs {first} vs {other}: " + ("identical" if not diff else f"DIFFER in {diff}"))


if __name__ == "__main__":
    main(
        [Path(root) for root in sys.argv[1].split(",")],
        [Path(sys.argv[2]), Path(sys.argv[3])],
        int(sys.argv[4]) if len(sys.argv) > 4 else 3,
    )
