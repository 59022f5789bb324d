"""The typer apps every command module registers on. Heavy imports stay inside commands so `--help` is fast."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer

if TYPE_CHECKING:
    from domain.settings import Settings

app = typer.Typer(
    name="shopguide",
    help="ShopGuide: a value-aware, bilingual shopping guide.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
eval_app = typer.Typer(
    help="Evaluate retrieval, value scoring, recommendations, the agent and security.", no_args_is_help=True
)
export_app = typer.Typer(help="Export data for other tools.", no_args_is_help=True)
keys_app = typer.Typer(help="Manage the PII encryption keys.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
app.add_typer(export_app, name="export")
app.add_typer(keys_app, name="keys")


def get_settings() -> Settings:
    """The settings from the environment. Imported on first use: pydantic-settings costs about half a second of
    start-up that ``--help`` does not need."""
    from domain.settings import get_settings as from_environment

    return from_environment()


def fail(message: str, code: int = 2) -> NoReturn:
    """One line in red on stderr, then exit: 2 for input the command cannot work with, 1 for a refusal."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)
