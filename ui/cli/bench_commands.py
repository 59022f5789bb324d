"""Benchmark commands: `shopguide bench` (every bench/bench_*.py) and `shopguide bench-growth` (growth curves)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ui.cli.app import app, eval_app, export_app, keys_app  # noqa: F401


@app.command("bench")
def bench(
    quick: Annotated[
        bool, typer.Option("--quick", help="Small sizes: the whole run in under ~3 minutes.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Run only this benchmark (e.g. ingest, retrieval); repeatable."),
    ] = None,
) -> None:
    """Run the benchmarks (ingest, scoring, retrieval, recommendation, agent turn) with same-run baselines."""
    from bench.run_all import main

    raise typer.Exit(code=main(quick=quick, as_json=as_json, only=only or None))


@app.command("bench-growth")
def bench_growth(
    sizes: Annotated[str, typer.Option(help="Comma-separated user counts.")] = "10000,100000,1000000",
    out: Annotated[
        Path | None, typer.Option(help="PNG plot path (default bench/results/growth_<ts>.png).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Growth curves: ingestion (and batch scoring, if available) time and peak memory per number of users."""
    from bench.growth import main

    raise typer.Exit(code=main([int(s) for s in sizes.split(",") if s.strip()], out, as_json))
