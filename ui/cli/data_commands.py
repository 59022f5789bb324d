"""Data commands: `shopguide demo-data` (generate, and by default ingest, the demo shop) and `shopguide ingest`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ui.cli.app import app, eval_app, export_app, fail, get_settings, keys_app  # noqa: F401


@app.command("demo-data")
def demo_data(
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory for the files (default: DATA_DIR/demo).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same shop.")] = 7,
    users: Annotated[int, typer.Option("--users", min=1, help="Number of users.")] = 3000,
    products: Annotated[int, typer.Option("--products", min=1, help="Number of products.")] = 600,
    ingest: Annotated[
        bool, typer.Option("--ingest/--no-ingest", help="Load the files into the store.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON only.")] = False,
) -> None:
    """Generate the deterministic bilingual demo shop as files (+ hidden truth.parquet) and ingest it."""
    from domain.demo import generate_demo_shop
    from domain.ingest import IngestError, ingest_demo

    settings = get_settings()
    out_dir = out or settings.data_dir / "demo"
    manifest = generate_demo_shop(out_dir, seed=seed, n_users=users, n_products=products)
    summaries = []
    if ingest:
        try:
            summaries = ingest_demo(settings, manifest.out_dir, progress=not as_json)
        except IngestError as exc:
            fail(str(exc))
    if as_json:
        payload = {
            "manifest": json.loads(manifest.model_dump_json()),
            "ingested": [json.loads(s.model_dump_json()) | {"rows_per_s": s.rows_per_s} for s in summaries],
            "database_url": settings.database_url if ingest else None,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Demo shop (seed {seed}) in {manifest.out_dir}")
    table.add_column("kind")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for kind, path in manifest.ordered_files():
        table.add_row(kind, path.name, f"{manifest.counts[kind]:,}")
    table.add_row("truth (hidden)", manifest.truth_path.name, f"{manifest.n_users:,}")
    console = Console()
    console.print(table)
    console.print(
        f"history {manifest.history_start} .. {manifest.history_end}; truth to {manifest.future_end}"
    )
    for summary in summaries:
        console.print(summary.line(), highlight=False, markup=False, soft_wrap=True)
    if ingest:
        console.print(f"store: {_safe_url(settings.database_url)}")


def _safe_url(url: str) -> str:
    """Hide a password in a database URL before printing it."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


@app.command("ingest")
def ingest(
    path: Annotated[Path, typer.Argument(help="A .csv, .jsonl or .parquet file.")],
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind",
            help="users, products, orders, order_lines, reviews, events or transactions (one row per line "
            "item; default: from the mapping file, else the file name).",
        ),
    ] = None,
    column_map: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="target=source: read field TARGET from the file's column SOURCE (repeatable), "
            "e.g. --map title_en='Product Name'. Common names (title, price, CustomerID...) need none.",
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None,
        typer.Option("--mapping", help="A TOML or YAML mapping file (kind, date_format, [columns])."),
    ] = None,
    date_format: Annotated[
        str | None,
        typer.Option("--date-format", help="strptime layout of the file's dates, e.g. '%d/%m/%Y %H:%M'."),
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option(
            "--rejects", help="Where to write rejected rows (JSONL; default under DATA_DIR/rejects)."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Rows per transaction.")] = 5000,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON only.")] = False,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar on large files.")
    ] = True,
) -> None:
    """Validate and load one file; bad rows go to a rejects file. Exit 0 even with rejects, 2 on a fatal error."""
    from domain.ingest import ColumnMapping, IngestError, MappingError, ingest_path

    settings = get_settings()
    try:
        options = ColumnMapping.from_options(column_map or [], date_format)
        mapping = ColumnMapping.from_file(mapping_file).merged(options) if mapping_file else options
        summary = ingest_path(
            settings,
            path,
            kind,
            batch_size=batch_size,
            rejects_path=rejects,
            progress=progress and not as_json,
            mapping=mapping,
        )
    except MappingError as exc:
        fail(str(exc))
        return
    except IngestError as exc:
        fail(str(exc))
        return
    except Exception as exc:  # a fatal store problem (unreachable database, disk full): message, no traceback
        fail(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        return
    if as_json:
        typer.echo(json.dumps(json.loads(summary.model_dump_json()) | {"rows_per_s": summary.rows_per_s}))
    else:
        typer.echo(summary.line())
