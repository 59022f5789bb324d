"""The staff console's outer guard (ASGI middleware in front of the Gradio staff app and the HTTP API).

- **Origin check:** a request to ``/staff/...``, or an API request with staff (Basic) credentials, that carries
  an ``Origin`` other than this server's own or a configured ``SHOPGUIDE_ALLOWED_ORIGINS`` entry gets 403, so
  another site cannot drive a signed-in console (CSRF) or read its answers.
- **Login lockout:** ``POST /staff/login`` is answered 429 + Retry-After while the account or the client
  address is locked out (``domain.privacy.staff_auth``); the client address is handed to the login check.
- **Cookies:** the console's session cookies are rewritten to ``SameSite=Lax`` (Gradio sets ``None``), and
  marked ``Secure`` (the plain-HTTP duplicate dropped) when ``settings.secure_cookies`` is on.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

from domain.privacy.ratelimit import Message, Receive, Scope, Send, in_networks, scope_client_address
from domain.privacy.staff_auth import LockedOut
from ui.services import UiContext, current_client

STAFF_PREFIX = "/staff"
LOGIN_PATHS = ("/staff/login", "/staff/login/")
MAX_LOGIN_BODY = 16 * 1024


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def foreign_origin(headers: dict[str, str], allowed: list[str], *, via_trusted_proxy: bool = False) -> bool:
    """True when the request names an Origin that is neither this host nor an allowed origin. Behind a trusted
    proxy, the host the browser used may be in ``X-Forwarded-Host`` instead of ``Host``."""
    origin = headers.get("origin")
    if origin is None:
        return False
    if origin.rstrip("/") in allowed:
        return False
    hosts = {headers.get("host", "").lower()}
    if via_trusted_proxy and headers.get("x-forwarded-host"):
        hosts.add(headers["x-forwarded-host"].split(",")[0].strip().lower())
    netloc = urlsplit(origin).netloc.lower()
    return not netloc or netloc not in hosts


def secure_cookie(value: str, *, secure: bool) -> str | None:
    """A Set-Cookie value with SameSite=Lax (and Secure when asked); None to drop the header."""
    attrs = [a.strip() for a in value.split(";")]
    if secure and attrs[0].lower().startswith("access-token-unsecure"):
        return None  # the plain-HTTP duplicate has no use behind HTTPS
    kept = [a for a in attrs if a.split("=")[0].lower() not in ("samesite", "secure")]
    kept.append("SameSite=Lax")
    if secure:
        kept.append("Secure")
    return "; ".join(kept)


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    payload = json.dumps(body).encode()
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": start_headers + headers})
    await send({"type": "http.response.body", "body": payload})


class StaffGuard:
    def __init__(self, app: Any, ctx: UiContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        headers = _headers(scope)
        staff_path = path == STAFF_PREFIX or path.startswith(STAFF_PREFIX + "/")
        basic_api = path.startswith("/api/") and headers.get("authorization", "").lower().startswith("basic ")
        settings = self.ctx.settings
        proxied = in_networks(str((scope.get("client") or ("", 0))[0]), settings.trusted_proxy_list)
        if (staff_path or basic_api) and foreign_origin(
            headers, settings.allowed_origin_list, via_trusted_proxy=proxied
        ):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _send_json(send, 403, {"error": "forbidden origin", "detail": None}, [])
            return
        if not staff_path or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope_client_address(scope, self.ctx.settings.trusted_proxy_list)
        token = current_client.set(client)
        try:
            if scope.get("method") == "POST" and path in LOGIN_PATHS:
                receive = await self._check_lockout(scope, receive, send, client)
                if receive is None:
                    return
            await self.app(scope, receive, self._cookie_rewriter(send))
        finally:
            current_client.reset(token)

    async def _check_lockout(self, scope: Scope, receive: Receive, send: Send, client: str) -> Receive | None:
        """Read the (small) login form; answer 429 if locked out, else hand the body on unchanged."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message.get("type") != "http.request":
                return None  # the client left
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > MAX_LOGIN_BODY:
                await _send_json(send, 413, {"error": "login form too large", "detail": None}, [])
                return None
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        form = parse_qs(body.decode("utf-8", "replace"))
        name = (form.get("username") or [""])[0].strip()
        lockout = self.ctx.staff.lockout
        wait = max(lockout.retry_after(f"account:{name}"), lockout.retry_after(f"client:{client}"))
        if wait > 0:
            error = LockedOut(wait)
            retry = str(max(1, round(wait))).encode()
            await _send_json(send, 429, {"error": str(error), "detail": None}, [(b"retry-after", retry)])
            return None
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return replay

    def _cookie_rewriter(self, send: Send) -> Send:
        secure = self.ctx.settings.secure_cookies

        async def rewrite(message: Message) -> None:
            if message.get("type") == "http.response.start":
                rewritten: list[tuple[bytes, bytes]] = []
                for name, value in message.get("headers", []):
                    if name.lower() == b"set-cookie":
                        cookie = secure_cookie(value.decode("latin-1"), secure=secure)
                        if cookie is None:
                            continue
                        value = cookie.encode("latin-1")
                    rewritten.append((name, value))
                message["headers"] = rewritten
            await send(message)

        return rewrite
