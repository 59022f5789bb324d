"""Privacy commands: ``shopguide keys rotate``, ``shopguide forget``, ``shopguide token issue|revoke``,
``shopguide staff hash``, ``shopguide eval security``. Registered on the shared apps in ui.cli.app; heavy imports stay inside."""

from __future__ import annotations

import json
from typing import Any

import typer

from ui.cli.app import app, eval_app, export_app, fail, get_settings, keys_app  # noqa: F401

token_app = typer.Typer(help="Issue and revoke signed widget tokens for shoppers.", no_args_is_help=True)
app.add_typer(token_app, name="token")
staff_app = typer.Typer(help="Staff console accounts.", no_args_is_help=True)
app.add_typer(staff_app, name="staff")


def _settings(**update: Any) -> Any:
    settings = get_settings()
    update = {k: v for k, v in update.items() if v is not None}
    return settings.model_copy(update=update) if update else settings


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
        fail(f"no user {user_id!r} in the store (use --no-check to issue anyway)", code=1)
    try:
        token = issue_widget_token(settings, user_id, ttl_s=ttl)
    except ValueError as exc:
        fail(str(exc), code=1)
    if as_json:
        expires = (datetime.now(UTC) + timedelta(seconds=ttl)).isoformat(timespec="seconds")
        typer.echo(json.dumps({"token": token, "user_id": user_id, "expires_at": expires, "ttl_s": ttl}))
    else:
        typer.echo(token)


@token_app.command("revoke")
def token_revoke(
    token: str = typer.Argument(..., help="The widget token, or its jti claim."),
) -> None:
    """Revoke a widget token before its expiry: every later request with it is refused."""
    from domain.privacy.tokens import WidgetTokenError, revoke_widget_token

    try:
        jti = revoke_widget_token(_settings(), token)
    except (WidgetTokenError, ValueError) as exc:
        fail(f"cannot revoke: {exc}", code=1)
    typer.echo(f"revoked token {jti}")


@staff_app.command("hash")
def staff_hash(
    name: str = typer.Option(..., "--name", help="The staff login name."),
    password: str = typer.Option(
        ..., "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Asked if not given."
    ),
) -> None:
    """Print a SHOPGUIDE_STAFF_USERS entry "name:<argon2id hash>" for this account."""
    from domain.privacy.staff_auth import hash_password, weak_password_reason

    if not name.strip() or ":" in name or "," in name:
        fail("the name must be non-empty, without ':' or ','", code=1)
    reason = weak_password_reason(password)
    if reason:
        fail(f"password refused: {reason}", code=1)
    typer.echo(f"{name.strip()}:{hash_password(password)}")


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
        fail(f"key rotation failed, nothing lost: {exc}", code=1)
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

    from ui.erasure import forget_user, user_exists  # the erasure orchestrator, imported on use

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
        fail(str(exc), code=1)
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


@eval_app.command("security")
def eval_security(
    llm: str = typer.Option("none", "--llm", help="none | local (guided mode either way)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON only."),
    only: str = typer.Option("", "--only", help="Comma-separated attack ids or classes to run."),
    limit: int = typer.Option(0, "--limit", min=0, help="Run at most this many attacks (0 = all)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the private workspace copy for inspection."),
) -> None:
    """Run the attack suite (prompt injection, other users' data, system prompt and PII extraction, oversized
    and malformed input; zh and en; via chat, review/product text and API parameters) on a private copy of
    the shop, in guided mode. Exits 1 if anything leaked or crashed."""
    from rich.console import Console
    from rich.table import Table

    from evals.security.runner import run_security_suite
    from ui.app import create_app

    if llm not in ("none", "local", "openai"):
        raise typer.BadParameter("--llm must be none, local or openai")
    settings = _settings()
    console = Console(stderr=True)

    def progress(done: int, total: int, result: Any) -> None:
        if not as_json:
            mark = "[green]ok[/green]" if result.passed else "[red]LEAK[/red]"
            console.print(
                f"{done:>3}/{total} {mark} {result.id} [dim]{result.seconds:.1f}s {result.handled_as}[/dim]"
            )

    try:
        report = run_security_suite(
            settings,
            llm=llm,  # type: ignore[arg-type]
            only={x.strip() for x in only.split(",") if x.strip()} or None,
            limit=limit or None,
            progress=progress,
            keep_workspace=keep,
            web_app=create_app,
        )
    except (ValueError, RuntimeError) as exc:
        fail(f"security suite could not run: {exc}")
    if as_json:
        typer.echo(report.model_dump_json())
    else:
        table = Table(title=f"security suite · guided · llm={llm} · {report.seconds:.0f}s")
        for column in ("attack class", "attacks", "passed", "leaks", "crashes"):
            table.add_column(column, justify="left" if column == "attack class" else "right")
        for name, s in [*report.by_class.items(), ("TOTAL", None)]:
            if s is None:
                crashes = sum(c.crashes for c in report.by_class.values())
                table.add_row(
                    "TOTAL", str(report.attacks), str(report.passed), str(report.leaks), str(crashes)
                )
            else:
                table.add_row(name, str(s.attacks), str(s.passed), str(s.leaks), str(s.crashes))
        out = Console()
        out.print(table)
        out.print(
            f"channels: {', '.join(f'{k} {v.passed}/{v.attacks}' for k, v in report.by_channel.items())}; "
            f"planted text reached the conversation in {report.planted_exposed}/{report.planted_attacks} "
            "review/product attacks"
        )
        for r in report.results:
            if not r.passed:
                out.print(f"[red]{r.id}[/red]: {', '.join(f'{x.detector}={x.evidence}' for x in r.leaks)}")
    if report.passed != report.attacks:
        raise typer.Exit(code=1)
