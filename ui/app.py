"""The web app: FastAPI with the Gradio pages mounted on it.

Routes: ``/`` shopper chat · ``/staff`` staff console (login) · ``/widget-demo`` demo shop with the widget ·
``/widget.js`` launcher · ``/embed`` widget chat · ``/api/v1/*`` HTTP API (OpenAPI at ``/docs``) · ``/healthz``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from domain.privacy.ratelimit import LimitMiddleware
from domain.settings import Settings, get_settings
from ui.api import install_error_handlers
from ui.api import router as api_router
from ui.render import CARD_CSS
from ui.services import UiContext
from ui.shopper import SHOPPER_CSS, build_shopper
from ui.staff import STAFF_CSS, build_staff
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
    """Request limits by path: the HTTP API gets the privacy middleware's defaults (64 KB bodies, per-session
    rate limit, 429 + Retry-After); the Gradio pages get a larger body cap, because each chat event posts the
    conversation so far, and no per-request rate limit (their chat turns are counted by ``check_rate``)."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.api = LimitMiddleware(app, settings=settings, limited_prefixes=("/api/",))
        self.pages = LimitMiddleware(
            app, settings=settings, max_body_bytes=PAGE_MAX_BODY_BYTES, limited_prefixes=()
        )

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        target = self.api if str(scope.get("path", "")).startswith("/api/") else self.pages
        await target(scope, receive, send)


def create_app(settings: Settings | None = None, *, demo_picker: bool = True) -> FastAPI:
    """Build the whole web app for these settings (nothing heavy loads until the first chat turn)."""
    import gradio as gr

    settings = settings or get_settings()
    settings.ensure_dirs()
    ctx = UiContext(settings, demo_picker=demo_picker)
    app = FastAPI(
        title="ShopGuide API",
        version="1.0",
        description=API_DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.ui = ctx
    install_error_handlers(app)
    app.add_middleware(PathLimits, settings=settings)
    app.include_router(api_router)
    app.include_router(widget_router)

    @app.get("/healthz", tags=["ops"], summary="Store, index and LLM status")
    async def healthz() -> JSONResponse:
        report = ctx.health()
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    theme = _theme()
    gr.mount_gradio_app(
        app,
        build_staff(ctx),
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
