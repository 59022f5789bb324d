"""`shopguide serve`: the web app (shopper chat, staff console, widget, HTTP API) on uvicorn."""

from __future__ import annotations

from typing import Any

import typer

from ui.cli.app import app, get_settings

_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def uvicorn_log_config(level: str) -> dict[str, Any]:
    """Plain formatters for uvicorn's loggers. Its default access formatter unpacks ``record.args``, which the
    PII log filter has already folded into the (masked) message, so it would fail on every request line."""
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": _LOG_FORMAT}},
        "handlers": {"stderr": handler},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
            "uvicorn.error": {"level": level.upper()},
            "uvicorn.access": {"handlers": ["stderr"], "level": level.upper(), "propagate": False},
        },
    }


@app.command()
def serve(
    host: str = typer.Option(None, help="Interface to bind (default: settings.host, 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (default: settings.port, 7860)."),
    demo_picker: bool = typer.Option(
        True, help="Show the demo shopper picker on / (demo only; without it / needs a ?token= widget token)."
    ),
) -> None:
    """Serve the shopper chat at /, the staff console at /staff, the widget demo at /widget-demo, the API at /api/v1."""
    import uvicorn

    from domain.logging import configure_logging, mask_all_handlers
    from ui.app import create_app

    settings = get_settings()
    configure_logging(settings)
    bind_host, bind_port = host or settings.host, port or settings.port
    web_app = create_app(settings, demo_picker=demo_picker)
    typer.echo(
        f"ShopGuide on http://{bind_host}:{bind_port}/  (staff: /staff, widget demo: /widget-demo, API docs: /docs)"
    )
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
