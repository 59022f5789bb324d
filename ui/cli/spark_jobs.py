"""The work behind the Spark commands (`export store`, `score --all --engine spark`, `campaign --engine spark`).

Imported only when one of them runs: the commands stay thin, and `shopguide --help` does not load the store,
the value engine or the Spark batch (pyspark itself is imported by ``valuation.spark_batch`` on first use)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from domain.store.db import get_engine
from domain.store.parquet_export import export_store_parquet
from recommend.marketing import write_table
from recommend.spark_campaign import campaign_on_spark, check_campaign_input
from ui.cli.app import get_settings
from valuation.service import get_value_service
from valuation.spark_batch import SparkInputError, score_on_spark, spark_session, validate_input
from valuation.spark_batch import write_back as store_rows


def export_store(parquet: Path, *, as_json: bool) -> None:
    summary = export_store_parquet(get_engine(get_settings()), parquet)
    report = {"out": str(summary.out), "rows": summary.rows, "seconds": round(summary.seconds, 2)}
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        Console(stderr=True).print(report)


def score_all_on_spark(
    *, input_dir: Path | None, out: Path | None, master: str, write_back: bool, as_json: bool
) -> None:
    """`score --all --engine spark`: the saved engine (trained on the store's sample) scores the Parquet input
    on Spark; exits 2 with a clear message on bad input, before Spark starts and without writing anything."""
    console = Console(stderr=True)
    try:
        if input_dir is None or out is None:
            raise SparkInputError("--engine spark needs --input DIR (Parquet tables) and --out DIR (Parquet)")
        validate_input(input_dir)
        settings = get_settings()
        service = get_value_service(settings)
        job = service.scoring_job()
        summary = score_on_spark(job, input_dir, out, master=master)
        written = store_rows(get_engine(settings), out, job.trained) if write_back else 0
    except SparkInputError as exc:  # one unwrapped line: the path in it stays copyable
        typer.secho(f"error / 错误: {exc}", fg="red", err=True)
        raise typer.Exit(code=2) from exc
    report = {
        "engine": "spark",
        "master": summary.master,
        "users": summary.users,
        "buckets": summary.buckets,
        "out": str(summary.out),
        "written_back": written,
        "model_version": job.trained.version,
        "seconds": round(summary.seconds, 2),
        "users_per_s": round(summary.users_per_s, 1),
    }
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    else:
        console.print(report)


def campaign_on_spark_cli(
    *, segment: str, out: Path, scores: Path | None, input_dir: Path | None, master: str, limit: int | None
) -> None:
    """`campaign --engine spark`: the segment's list from the Spark-scored table, written like `campaign`."""
    try:
        if scores is None or input_dir is None:
            raise SparkInputError("--engine spark needs --scores DIR (scored table) and --input DIR (export)")
        check_campaign_input(scores, input_dir, segment)
        spark = spark_session(master, app_name="shopguide-campaign")
        frame = campaign_on_spark(spark, scores, input_dir, segment, limit=limit)
    except (SparkInputError, ValueError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2) from exc
    path = write_table(frame, out)
    typer.echo(f"wrote {len(frame)} users of segment {segment} to {path} (masked contacts, Spark {master})")
