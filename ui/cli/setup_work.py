"""The work of `shopguide setup`, imported when the command runs (the store, the index, the value engine and the
local model are too heavy to load for `shopguide --help`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from sqlalchemy import func, select

from domain.demo import generate_demo_shop
from domain.ingest import IngestError, ingest_demo, ingest_folder, plan_folder
from domain.store.db import get_engine
from domain.store.schema import products, users, value_assessments
from llm.local_server import resolve_model_path
from ui.cli.app import get_settings
from valuation.service import get_value_service
from vectorstore.index import get_shop_index

console = Console(stderr=True)


def _step(title: str, action: Callable[[], str]) -> None:
    started = time.perf_counter()
    console.print(f"[bold cyan]•[/] {title} …")
    outcome = action()
    console.print(f"  [green]✓[/] {outcome} [dim]({time.perf_counter() - started:.1f} s)[/]")


def run_setup(*, data: Path | None, demo: bool, seed: int, prepare_llm: bool) -> None:
    """Each step skipped when already done; safe to re-run."""
    settings = get_settings()
    settings.ensure_dirs()
    engine = get_engine(settings)
    console.print(
        f"[bold]ShopGuide setup[/] — data in {settings.data_dir}, store {engine.url.render_as_string()}"
    )

    with engine.connect() as conn:
        has_products = bool(conn.execute(select(func.count()).select_from(products)).scalar())

    if data is not None:
        try:
            plan = plan_folder(data)
        except IngestError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(code=2) from exc
        console.print(
            "Files: " + ", ".join(f"{path.name} [{kind}]" for path, kind, _ in plan),
            highlight=False,
            markup=False,
        )
        # e.g. the demo shop of an earlier setup: it would stay next to the shop's own data
        if has_products:
            console.print(
                f"[yellow]warning:[/] the store in {settings.data_dir} already holds products; your files are "
                "added to them. For your shop alone, point SHOPGUIDE_DATA_DIR at a new folder."
            )

        def load_shop() -> str:
            summaries = ingest_folder(settings, data, progress=True)
            for summary in summaries:
                console.print("  " + summary.line(), highlight=False, markup=False, soft_wrap=True)
            rejected = sum(s.rejected for s in summaries)
            return (
                f"your shop from {data}: {len(summaries)} files, {rejected} rows rejected (see rejects files)"
            )

        _step("Ingesting your shop's files", load_shop)
    elif demo and not has_products:

        def load_demo() -> str:
            demo_dir = settings.data_dir / "demo"
            manifest = generate_demo_shop(demo_dir, seed=seed)
            summaries = ingest_demo(settings, demo_dir)
            stored = sum(s.stored + s.updated for s in summaries)
            rejected = sum(s.rejected for s in summaries)
            return f"demo shop in {manifest.out_dir}: {stored} rows stored, {rejected} rejected"

        _step("Generating and ingesting the demo shop", load_demo)

    def build_index() -> str:
        stats = get_shop_index(settings).refresh(progress=True)
        return (
            f"{stats.products_total} products, {stats.history_total} history documents "
            f"({stats.texts_embedded} texts embedded)"
        )

    _step("Indexing products and user histories", build_index)

    def score_users() -> str:
        service = get_value_service(settings)
        service.ensure_ready()  # loads the saved engine, or trains one
        with engine.connect() as conn:
            n_users = conn.execute(select(func.count()).select_from(users)).scalar() or 0
            n_scored = conn.execute(select(func.count()).select_from(value_assessments)).scalar() or 0
        if n_scored >= n_users:
            return f"{n_scored} users already scored by {service.model_version}"
        summary = service.assess_all(progress=True)
        return f"{summary.users} users scored by {service.model_version} ({summary.users_per_s:,.0f} users/s)"

    _step("Training the value model and scoring every user", score_users)

    if prepare_llm and settings.llm == "local":

        def prepare_model() -> str:
            return f"model ready at {resolve_model_path(settings)}"

        _step("Preparing the local model", prepare_model)

    console.print("[bold green]Ready.[/] Start the app with [bold]shopguide serve[/].")
