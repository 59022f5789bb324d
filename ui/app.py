"""The web app: FastAPI with the Gradio pages mounted on it.

Routes: ``/`` shopper chat · ``/staff`` staff console (login) · ``/widget.js`` launcher · ``/embed`` widget
chat · ``/api/v1/*`` HTTP API (OpenAPI at ``/docs``) · ``/healthz`` · ``/staff/exports/{id}`` export downloads;
in demo mode only: ``/widget-demo`` (a demo shop with the widget) and the demo user picker on ``/``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.routing import Mount

from domain.privacy.ratelimit import BodyLimitMiddleware
from domain.settings import Settings, get_settings
from ui.api import authenticate, install_error_handlers
from ui.api import router as api_router
from ui.exports import DOWNLOAD_ROUTE, ExportVault
from ui.guard import StaffGuard
from ui.render import CARD_CSS
from ui.services import UiContext, is_demo_store
from ui.shopper import SHOPPER_CSS, build_shopper
from ui.staff import STAFF_CSS, build_staff
from ui.widget import demo_router as widget_demo_router
from ui.widget import router as widget_router

log = logging.getLogger(__name__)

# Gradio must not phone home (analytics) or fetch web fonts: the app runs offline.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

API_DESCRIPTION = """
The ShopGuide chat over HTTP: the same agent as the web page and the widget.

**Auth.** Shoppers: `Authorization: Bearer <widget token>` (a short-lived signed token your backend issues, see
`docs/widget.md`). Staff: HTTP Basic with a staff account. Errors are JSON `{"error": ..., "detail": ...}`.

**Gradio client.** The shopper page also exposes the named endpoint `/chat` (message, token, thread_id):
`gradio_client.Client(url).predict("hi", token, "", api_name="/chat")`.
"""


def _theme() -> Any:
    import gradio as gr

    system_fonts = [
        "system-ui",
        "-apple-system",
        "PingFang SC",
        "Microsoft YaHei",
        "Noto Sans CJK SC",
        "sans-serif",
    ]
    return gr.themes.Soft(
        primary_hue="rose",
        secondary_hue="amber",
        neutral_hue="slate",
        font=system_fonts,
        font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
    )


PAGE_MAX_BODY_BYTES = 2_000_000


class PathLimits:
    """Body-size caps by path: 64 KB for the HTTP API; more for the Gradio pages, because each chat event posts
    the conversation so far. Rate limits are counted per principal or client address by the routes."""

    def __init__(self, app: Any) -> None:
        self.api = BodyLimitMiddleware(app)
        self.pages = BodyLimitMiddleware(app, max_body_bytes=PAGE_MAX_BODY_BYTES)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        target = self.api if str(scope.get("path", "")).startswith("/api/") else self.pages
        await target(scope, receive, send)


def _mounted_app(app: FastAPI, path: str) -> Any:
    return next(r.app for r in app.routes if isinstance(r, Mount) and r.path == path)


def create_app(settings: Settings | None = None, *, demo: bool = False) -> FastAPI:
    """Build the whole web app for these settings (nothing heavy loads until the first chat turn).

    ``demo`` adds the demo surfaces (user picker, ``/widget-demo``, the demo staff account); it needs the demo
    shop's store (``serve --demo`` also keeps it on loopback)."""
    import gradio as gr  # Gradio and the pages load here, after the analytics switch above

    settings = settings or get_settings()
    settings.ensure_dirs()
    if demo and not is_demo_store(settings):
        raise ValueError("demo mode needs the demo shop's store (shopguide setup on an empty data dir)")
    ctx = UiContext(settings, demo=demo)
    vault = ExportVault(settings)
    app = FastAPI(
        title="ShopGuide API",
        version="1.0",
        description=API_DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.ui = ctx
    app.state.exports = vault
    install_error_handlers(app)
    app.add_middleware(PathLimits)
    app.add_middleware(StaffGuard, ctx=ctx)
    # Declaring Starlette's CORS middleware also switches off Gradio's own, which reflects any Origin with
    # credentials on a non-localhost Host. Only configured widget origins get CORS, and never with cookies.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_origin_list,
        allow_credentials=False,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "Accept-Language"],
    )
    app.include_router(api_router)
    app.include_router(widget_router)
    if demo:
        app.include_router(widget_demo_router)

    @app.get(
        "/healthz", tags=["ops"], summary="Liveness; store, index and LLM details for staff (Basic auth)"
    )
    async def healthz(request: Request) -> JSONResponse:
        detailed = False
        if request.headers.get("authorization"):
            detailed = (await run_in_threadpool(authenticate, request)).is_staff
        report = ctx.health(detailed=detailed)
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get(f"{DOWNLOAD_ROUTE}/{{export_id}}", include_in_schema=False)
    async def download_export(request: Request, export_id: str) -> Response:
        """A campaign export, once, for the staff member who made it (their console session cookie)."""
        export = vault.take(export_id, staff_session_user(_mounted_app(app, "/staff"), request))
        if export is None:
            return JSONResponse({"error": "no such export", "detail": None}, status_code=404)
        try:
            content = export.path.read_bytes()
        finally:
            vault.discard(export)  # deleted before it is sent: a second request finds nothing
        headers = {
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{export.path.name}"',
        }
        return Response(content, media_type="text/csv; charset=utf-8", headers=headers)

    theme = _theme()
    gr.mount_gradio_app(
        app,
        build_staff(ctx, vault),
        path="/staff",
        auth=ctx.staff_login,
        auth_message="ShopGuide 客服控制台 · Staff console",
        theme=theme,
        css=CARD_CSS + STAFF_CSS,
        footer_links=[],
        show_error=False,
        ssr_mode=False,
    )
    gr.mount_gradio_app(
        app,
        build_shopper(ctx),
        path="/",
        theme=theme,
        css=CARD_CSS + SHOPPER_CSS,
        footer_links=["api"],
        show_error=False,
        ssr_mode=False,
    )
    return app


def staff_session_user(staff_app: Any, request: Request) -> str | None:
    """The staff name signed in to the console with this request's session cookie, if any."""
    for cookie in (f"access-token-{staff_app.cookie_id}", f"access-token-unsecure-{staff_app.cookie_id}"):
        user = staff_app.tokens.get(request.cookies.get(cookie))
        if user:
            return str(user)
    return None
