"""Scaling out: `shopguide export store --parquet DIR`. The work of this command and of the Spark halves of
`score --all --engine spark` and `campaign --engine spark` is in ``ui.cli.spark_jobs``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ui.cli.app import export_app


@export_app.command("store")
def export_store(
    parquet: Annotated[
        Path, typer.Option("--parquet", help="Directory to write one Parquet file per table.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Export the store's tables as Parquet (users without encrypted PII), the input of the Spark batch.

    把数据库导出为 Parquet（不含加密个人信息），供 Spark 批量评分使用。
    """
    from ui.cli import spark_jobs  # the work, imported when the command runs

    spark_jobs.export_store(parquet, as_json=as_json)
