"""`shopguide serve`: the web app (shopper chat, staff console, widget, HTTP API) on uvicorn.

Production is the default: no demo surfaces, and a non-loopback bind refuses to start (exit 2) while a staff
account has no password hash, a weak or the demo password, or none is configured. ``--demo`` adds the demo
picker, ``/widget-demo`` and the demo staff account on the demo shop's store, and listens on loopback only.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from typing import TYPE_CHECKING, Any

import typer

from ui.cli.app import app, get_settings

if TYPE_CHECKING:
    from domain.settings import Settings

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Query values that are credentials or session handles, and file paths in Gradio's file route.
_SECRET_QUERY = re.compile(r"(?i)([?&](?:token|session_hash|access_token|__sign)=)[^&\s\"]*")
_FILE_PATH = re.compile(r"(?i)(/file(?:=|%3D))[^\s?\"]*")
EXIT_UNSAFE = 2


def mask_request_line(text: str) -> str:
    return _FILE_PATH.sub(r"\1***", _SECRET_QUERY.sub(r"\1***", text))


class AccessLogMask(logging.Filter):
    """Masks widget tokens, Gradio session hashes and file paths in uvicorn's access lines (before the PII
    filter folds the arguments into the message)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(mask_request_line(a) if isinstance(a, str) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = mask_request_line(record.msg)
        return True


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """Plain formatters for uvicorn's loggers. Its default access formatter unpacks ``record.args``, which the
    PII log filter has already folded into the (masked) message, so it would fail on every request line."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": _LOG_FORMAT}},
        "filters": {"access_mask": {"()": AccessLogMask}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {
                "handlers": ["stderr"],
                "level": level.upper(),
                "propagate": False,
                "filters": ["access_mask"],
            },
        },
    }


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def unsafe_start(settings: Settings, host: str, *, demo: bool) -> str | None:
    """Why this start must be refused, or None."""
    # imported here: staff_auth pulls in the store layer (SQLAlchemy), a second of `shopguide --help`
    from domain.privacy.staff_auth import parse_staff_users, unsafe_staff_accounts

    if demo and not is_loopback(host):
        return (
            f"--demo hands anonymous visitors real users' identities and a staff login, so it listens on "
            f"loopback only; drop --demo to serve on {host}"
        )
    if is_loopback(host):
        return None
    accounts = parse_staff_users(settings.staff_users)
    fix = "set SHOPGUIDE_STAFF_USERS=name:<argon2 hash> (make one with `shopguide staff hash`)"
    if not accounts:
        return f"no staff account is configured for a public start on {host}: {fix}"
    problems = unsafe_staff_accounts(accounts)
    if problems:
        return f"unsafe staff accounts for a public start on {host} ({'; '.join(problems)}): {fix}"
    return None


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (default: settings.host, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default: settings.port, 7860)."),
    demo: bool = typer.Option(
        False,
        "--demo",
        help="Demo mode on the demo shop: user picker on /, /widget-demo, demo staff login; loopback only.",
    ),
) -> None:
    """Serve the shopper chat at /, the staff console at /staff, the widget at /widget.js, the API at /api/v1."""
    import uvicorn

    from domain.logging import configure_logging, mask_all_handlers
    from ui.app import create_app

    settings = get_settings()
    bind_host, bind_port = host or settings.host, port or settings.port
    refusal = unsafe_start(settings, bind_host, demo=demo)
    if refusal:
        typer.secho(f"refusing to start: {refusal}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=EXIT_UNSAFE)
    configure_logging(settings)
    try:
        web_app = create_app(settings, demo=demo)
    except ValueError as exc:
        typer.secho(f"refusing to start: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=EXIT_UNSAFE) from exc
    extras = " widget demo: /widget-demo," if demo else ""
    typer.echo(f"ShopGuide on http://{bind_host}:{bind_port}/  (staff: /staff,{extras} API docs: /docs)")
    config = uvicorn.Config(
        web_app,
        host=bind_host,
        port=bind_port,
        log_config=uvicorn_log_config(settings.log_level),
        timeout_graceful_shutdown=5,
    )
    # uvicorn.Config has just installed uvicorn's handlers: put the PII filter on them too.
    mask_all_handlers()
    uvicorn.Server(config).run()
