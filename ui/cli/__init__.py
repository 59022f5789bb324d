"""`shopguide` console script: one module per command group, each registering on the shared typer apps."""

from __future__ import annotations

from ui.cli import (  # noqa: F401  (imported for their command registrations)
    agent_commands,
    bench_commands,
    data_commands,
    index_commands,
    marketing_commands,
    privacy_commands,
    serve_commands,
    setup_commands,
    spark_commands,
    value_commands,
)
from ui.cli.app import app


def main() -> None:
    app()
