"""The embeddable widget: ``/widget.js`` (launcher), ``/embed`` (the chat in the panel) and ``/widget-demo``.

``/widget-demo`` is served in demo mode only. The shopper is identified only by a short-lived signed token that the host site's backend issues
(``domain.privacy.tokens.issue_widget_token``); ``/embed`` refuses a missing, tampered or expired token with a
clear message (HTTP 401) and never accepts a bare user id.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from domain.i18n import Language, money, normalize_lang, t
from ui.chat_view import TOOL_LABELS
from ui.i18n import EXAMPLE_PROMPTS
from ui.render import CARD_CSS, CATEGORY_GLYPHS, placeholder
from ui.services import TokenRefused, UiContext

STATIC_DIR = Path(__file__).parent / "static"

router = APIRouter(include_in_schema=False)
demo_router = APIRouter(include_in_schema=False)  # mounted only in demo mode (serve --demo)

EMBED_CSS = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;font:14px/1.45 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
  color:#111827;background:#f9fafb}
.sg-wrap{display:flex;flex-direction:column;height:100%}
#sg-log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px}
.sg-msg{max-width:92%;padding:8px 12px;border-radius:14px;word-wrap:break-word}
.sg-user{align-self:flex-end;background:#e11d48;color:#fff;border-bottom-right-radius:4px}
.sg-assistant{align-self:flex-start;background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px;width:92%}
.sg-assistant .sg-cards{grid-template-columns:repeat(2,minmax(0,1fr));margin-top:8px}
.sg-typing{color:#9ca3af}
.sg-step{font-size:12px;color:#4b5563;background:#f3f4f6;border-radius:8px;padding:4px 8px;margin-bottom:6px}
.sg-step pre{white-space:pre-wrap;font-size:11px;margin:4px 0 0;max-height:120px;overflow:auto}
.sg-feedback{margin-top:6px;font-size:12px;color:#6b7280}
.sg-feedback button{background:none;border:0;cursor:pointer;font-size:15px;padding:0 4px}
#sg-form{display:flex;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}
#sg-input{flex:1;border:1px solid #d1d5db;border-radius:999px;padding:9px 14px;font:inherit;outline:none}
#sg-input:focus{border-color:#e11d48}
#sg-send{border:0;border-radius:999px;background:#e11d48;color:#fff;padding:0 16px;font:600 14px inherit;cursor:pointer}
#sg-send:disabled{opacity:.5}
#sg-examples{display:flex;flex-wrap:wrap;gap:6px;padding:0 12px 8px}
#sg-examples button{border:1px solid #fecdd3;background:#fff1f2;color:#9f1239;border-radius:999px;padding:4px 10px;
  font:12px inherit;cursor:pointer}
.sg-hello{color:#4b5563;background:#fff;border:1px dashed #e5e7eb;border-radius:12px;padding:10px 12px}
#sg-product{position:absolute;left:10px;right:10px;bottom:70px;background:#fff;border:1px solid #e5e7eb;
  border-radius:12px;padding:10px 12px;box-shadow:0 8px 24px rgba(0,0,0,.15);max-height:50%;overflow:auto}
#sg-product h3{margin:0 0 4px;font-size:15px}
#sg-product .sg-x{float:right;border:0;background:none;font-size:18px;cursor:pointer}
.sg-refused{margin:auto;max-width:320px;text-align:center;padding:24px}
.sg-refused .sg-error{font-size:15px}
"""


def _ctx(request: Request) -> UiContext:
    return request.app.state.ui


def _lang(request: Request) -> Language:
    return normalize_lang(request.query_params.get("lang") or request.headers.get("accept-language"))


@router.get("/widget.js")
async def widget_js() -> FileResponse:
    headers = {"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"}
    return FileResponse(STATIC_DIR / "widget.js", media_type="application/javascript", headers=headers)


@router.get("/embed-assets/embed.js")
async def embed_js() -> FileResponse:
    return FileResponse(STATIC_DIR / "embed.js", media_type="application/javascript")


def _page(title: str, body: str, lang: Language, extra_css: str = "") -> str:
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!doctype html><html lang="{html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CARD_CSS}{extra_css}</style></head><body>{body}</body></html>"
    )


@router.get("/embed", response_class=HTMLResponse)
async def embed(request: Request) -> HTMLResponse:
    """The chat inside the widget panel. Needs ``?token=`` (a signed widget token); refuses anything else."""
    ctx, lang = _ctx(request), _lang(request)
    token = request.query_params.get("token", "")
    try:
        principal = ctx.verify_token(token)
    except TokenRefused as exc:
        body = (
            '<div class="sg-wrap"><div class="sg-refused" id="sg-refused">'
            f'<div class="sg-error" role="alert">🔒 {escape(t("token_invalid", lang))}</div>'
            f'<p style="color:#6b7280;font-size:12px">{escape(str(exc))}</p></div></div>'
        )
        return HTMLResponse(_page("ShopGuide", body, lang, EMBED_CSS), status_code=401)
    text_keys = ("on_promotion", "token_invalid", "rate_limited", "chat_unavailable", "feedback_thanks")
    config = {
        "api": "/api/v1",
        "token": token,
        "lang": lang,
        "subject": principal.user_id or "",
        "glyphs": CATEGORY_GLYPHS,
        "text": {key: t(key, lang) for key in text_keys}
        | {"tools": {name: labels[lang] for name, labels in TOOL_LABELS.items()}},
    }
    examples = "".join(f'<button type="button">{escape(p)}</button>' for p in EXAMPLE_PROMPTS)
    config_json = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    body = (
        f'<script id="sg-config" type="application/json">{config_json}</script>'
        '<div class="sg-wrap"><div id="sg-log" aria-live="polite">'
        f'<div class="sg-hello">👋 {escape(t("shopper_tagline", lang))}</div></div>'
        f'<div id="sg-examples">{examples}</div>'
        '<div id="sg-product" hidden></div>'
        f'<form id="sg-form"><input id="sg-input" autocomplete="off" maxlength="{ctx.settings.max_message_chars}" '
        f'placeholder="{escape(t("message_placeholder", lang))}">'
        f'<button id="sg-send" type="submit">{escape(t("send", lang))}</button></form></div>'
        '<script src="/embed-assets/embed.js"></script>'
    )
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(_page("ShopGuide", body, lang, EMBED_CSS), headers=headers)


SHOP_CSS = """
body{margin:0;font:15px/1.5 system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;color:#111827;
  background:#fafaf9}
.shop-top{display:flex;align-items:center;justify-content:space-between;padding:14px 28px;background:#fff;
  border-bottom:1px solid #e7e5e4;position:sticky;top:0}
.shop-logo{font-weight:800;font-size:20px;color:#e11d48}
.shop-nav a{margin-left:18px;color:#44403c;text-decoration:none;font-size:14px}
.shop-hero{padding:36px 28px;background:linear-gradient(120deg,#fff1f2,#fef3c7)}
.shop-hero h1{margin:0 0 6px;font-size:30px}
.shop-hero p{margin:0;color:#57534e}
.shop-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:18px;padding:28px}
.tile{background:#fff;border:1px solid #e7e5e4;border-radius:14px;overflow:hidden;display:flex;flex-direction:column}
.tile .sg-img{height:130px;font-size:52px}
.tile .tile-body{padding:10px 12px 14px;display:flex;flex-direction:column;gap:4px;flex:1}
.tile h3{font-size:15px;margin:0;line-height:1.3}
.tile button{margin-top:auto;border:1px solid #e11d48;color:#e11d48;background:#fff;border-radius:999px;padding:6px;
  cursor:pointer;font:600 13px inherit}
.shop-foot{padding:20px 28px 90px;color:#78716c;font-size:13px}
.shop-foot code{background:#f5f5f4;padding:2px 6px;border-radius:6px}
@media (max-width:480px){.shop-grid{grid-template-columns:repeat(2,minmax(0,1fr));gap:10px;padding:12px}
  .shop-nav{display:none}.shop-hero{padding:20px 14px}.shop-hero h1{font-size:22px}}
"""


@demo_router.get("/widget-demo", response_class=HTMLResponse)
async def widget_demo(request: Request) -> HTMLResponse:
    """A small demo shop that embeds the widget. Its own backend (this handler) issues the shopper's token:
    a token for a real user to whoever asks, which is why this page exists only in demo mode."""
    ctx, lang = _ctx(request), _lang(request)
    tiles = []
    for product in ctx.showcase_products(8):
        glyph, background = placeholder(product.category, product.product_id)
        badge = ""
        if product.on_promotion:
            badge = f'<span class="sg-badge">{escape(t("on_promotion", lang))} -{product.discount_pct * 100:.0f}%</span>'
        tiles.append(
            f'<div class="tile" style="position:relative">{badge}'
            f'<div class="sg-img" style="background:{background}">{glyph}</div><div class="tile-body">'
            f'<h3>{escape(product.title(lang))}</h3><div class="sg-brand">{escape(product.brand)}</div>'
            f'<div class="sg-price">{escape(money(product.price))}</div>'
            f'<button type="button">{escape(t("add_to_cart", lang))}</button></div></div>'
        )
    demo_users = ctx.demo_users(1)
    # The host site's backend knows who is signed in; in this demo it is the first demo shopper.
    token = ctx.issue_token(demo_users[0][1], ttl_s=900) if demo_users else ""
    nav = ("新品", "热卖", "优惠") if lang == "zh" else ("New", "Best sellers", "Deals")
    snippet = '&lt;script src="https://SHOP-GUIDE-HOST/widget.js" data-token="…" async&gt;&lt;/script&gt;'
    body = (
        f'<header class="shop-top"><div class="shop-logo">🛒 {escape(t("shop_name", lang))}</div>'
        f'<nav class="shop-nav">{"".join(f"<a href=#>{escape(n)}</a>" for n in nav)}</nav></header>'
        f'<section class="shop-hero"><h1>{escape(t("shop_name", lang))}</h1>'
        f"<p>{escape(t('shop_tagline', lang))}</p></section>"
        f'<main class="shop-grid">{"".join(tiles)}</main>'
        f'<footer class="shop-foot">Powered by ShopGuide · <code>{snippet}</code></footer>'
        f'<script src="/widget.js" data-token="{escape(token)}" data-lang="{lang}" async></script>'
    )
    return HTMLResponse(
        _page(t("shop_name", lang), body, lang, SHOP_CSS), headers={"Cache-Control": "no-store"}
    )
