"""`shopguide setup`: everything the app needs before it serves, each step skipped when already done."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ui.cli.app import app


@app.command()
def setup(
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="A folder of your shop's own files (catalog, customers, transactions...): ingest them instead "
            "of the demo shop. See README 'Your own shop'.",
        ),
    ] = None,
    demo: bool = typer.Option(True, help="Generate and load the demo shop when the store has no products."),
    seed: int = typer.Option(7, help="Seed of the demo shop."),
    prepare_llm: bool = typer.Option(
        True, help="Assemble and verify the local model now rather than on first chat."
    ),
) -> None:
    """Prepare the store, the indexes, the value model and the local LLM; safe to re-run."""
    from ui.cli.setup_work import run_setup  # the work: store, index, value engine, local model

    run_setup(data=data, demo=demo, seed=seed, prepare_llm=prepare_llm)
