"""Privacy commands: ``shopguide keys rotate``, ``shopguide forget``, ``shopguide token issue``,
``shopguide eval security``. Registered on the shared apps in ui.cli.app; heavy imports stay inside."""

from __future__ import annotations

import json
from typing import Any

import typer

from ui.cli.app import app, eval_app, export_app, keys_app  # noqa: F401

token_app = typer.Typer(help="Issue signed widget tokens for shoppers.", no_args_is_help=True)
app.add_typer(token_app, name="token")


def _settings(**update: Any) -> Any:
    from domain.settings import get_settings

    settings = get_settings()
    update = {k: v for k, v in update.items() if v is not None}
    return settings.model_copy(update=update) if update else settings


def _fail(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


@token_app.command("issue")
def token_issue(
    user_id: str = typer.Argument(..., help="The shopper's user id the widget will act as."),
    ttl: int = typer.Option(900, "--ttl", help="Lifetime in seconds (1..86400)."),
    check_user: bool = typer.Option(True, "--check/--no-check", help="Refuse ids that are not in the store."),
    as_json: bool = typer.Option(False, "--json", help="Print {token, user_id, expires_at} as JSON."),
) -> None:
    """Issue a short-lived signed widget token (HS256, aud=shopguide-widget) for USER_ID; prints the token."""
    from datetime import UTC, datetime, timedelta

    from domain.privacy.erasure import user_exists
    from domain.privacy.tokens import issue_widget_token

    settings = _settings()
    if check_user and not user_exists(settings, user_id):
        _fail(f"no user {user_id!r} in the store (use --no-check to issue anyway)")
    try:
        token = issue_widget_token(settings, user_id, ttl_s=ttl)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        expires = (datetime.now(UTC) + timedelta(seconds=ttl)).isoformat(timespec="seconds")
        typer.echo(json.dumps({"token": token, "user_id": user_id, "expires_at": expires, "ttl_s": ttl}))
    else:
        typer.echo(token)


@keys_app.command("rotate")
def keys_rotate(
    batch_size: int = typer.Option(500, "--batch-size", min=1, help="User rows per transaction."),
    reencrypt_only: bool = typer.Option(
        False,
        "--reencrypt-only",
        help="No new key: re-encrypt under the newest configured key (env-managed keys).",
    ),
    keep_old: bool = typer.Option(False, "--keep-old", help="Keep the old keys in the key file afterwards."),
    as_json: bool = typer.Option(False, "--json", help="Print the rotation report as JSON."),
) -> None:
    """Generate a new PII key, re-encrypt every user row in batches, then retire the old keys.

    Old keys stay readable until every row decrypts with the new one; an interrupted rotation is resumed by
    running the command again.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from domain.privacy.crypto import PiiKeyError
    from domain.privacy.rotation import rotate_keys

    settings = _settings()
    try:
        if as_json:
            report = rotate_keys(
                settings, batch_size=batch_size, new_key=not reencrypt_only, keep_old=keep_old
            )
        else:
            with Progress(TextColumn("re-encrypting users"), BarColumn(), MofNCompleteColumn()) as bar:
                task = bar.add_task("rotate", total=None)
                report = rotate_keys(
                    settings,
                    batch_size=batch_size,
                    new_key=not reencrypt_only,
                    keep_old=keep_old,
                    on_batch=lambda done, total: bar.update(task, completed=done, total=total),
                )
    except PiiKeyError as exc:
        _fail(f"key rotation failed, nothing lost: {exc}")
    if as_json:
        typer.echo(report.model_dump_json())
        return
    Console().print(
        f"new key {report.new_key_id}{' (resumed)' if report.resumed else ''}: {report.rows_reencrypted} users, "
        f"{report.values_reencrypted} values re-encrypted in {report.batches} batches; "
        f"{report.retired_keys} old key(s) retired"
    )


@app.command()
def forget(
    user_id: str = typer.Argument(..., help="The user to erase."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    as_json: bool = typer.Option(False, "--json", help="Print what was removed as JSON."),
) -> None:
    """Erase USER_ID (right to erasure): store rows, Chroma documents, embedding cache, agent conversations.

    Prints what was removed. The audit log keeps a record of the erasure itself. Safe to run again.
    """
    from rich.console import Console
    from rich.table import Table

    from domain.privacy.erasure import forget_user, user_exists

    settings = _settings()
    if not yes and not as_json:
        exists = user_exists(settings, user_id)
        prompt = (
            f"Erase ALL data of {user_id}?"
            if exists
            else f"{user_id} is not in the store; clean indexes/caches?"
        )
        if not typer.confirm(prompt):
            raise typer.Exit(code=1)
    try:
        report = forget_user(settings, user_id)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps({**report.model_dump(), "total": report.total}, ensure_ascii=False))
        return
    table = Table(title=f"forget {user_id}")
    table.add_column("where")
    table.add_column("removed", justify="right")
    for where, count in report.removed.items():
        table.add_row(where, str(count))
    console = Console()
    console.print(table)
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if report.warnings:
        raise typer.Exit(code=2)
