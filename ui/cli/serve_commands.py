"""`shopguide serve`: the web app (shopper chat, staff console, widget, HTTP API) on uvicorn."""

from __future__ import annotations

import typer

from ui.cli.app import app


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

    from domain.settings import get_settings
    from ui.app import create_app

    settings = get_settings()
    try:
        from domain.logging import configure_logging, mask_all_handlers

        configure_logging(settings)
    except ImportError:  # pragma: no cover - logging setup ships with the privacy work
        mask_all_handlers = None  # type: ignore[assignment]
    bind_host, bind_port = host or settings.host, port or settings.port
    web_app = create_app(settings, demo_picker=demo_picker)
    if mask_all_handlers is not None:
        # uvicorn installs its own handlers at start: mask them too once it has.
        web_app.router.on_startup.append(mask_all_handlers)
    typer.echo(
        f"ShopGuide on http://{bind_host}:{bind_port}/  (staff: /staff, widget demo: /widget-demo, API docs: /docs)"
    )
    uvicorn.run(
        web_app,
        host=bind_host,
        port=bind_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=5,
    )
