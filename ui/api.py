"""The HTTP API under ``/api/v1``: the same chat as the web page, for any HTTP client and the widget.

Auth: ``Authorization: Bearer <widget token>`` (a shopper, bound to the token's user) or HTTP Basic with a staff
account (``settings.staff_users``). Errors are JSON ``{"error": ..., "detail": ...}`` with a 4xx status.
Every request is rate-limited on the authenticated principal, or on the client address when there is none
(failed logins included); wrong staff passwords also lock the account and the address out for a while.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.events import ProductCard
from domain.i18n import normalize_lang
from domain.models import Language
from domain.privacy.access import Principal
from domain.privacy.ratelimit import RateLimited, client_address
from domain.privacy.staff_auth import LockedOut
from ui.chat_view import TurnView
from ui.services import THREAD_ID_PATTERN, TokenRefused, UiContext, scoped_thread_id

log = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(
        self, status: int, error: str, detail: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(error)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, description="the shopper's (or staff member's) message")
    thread_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=THREAD_ID_PATTERN,
        description="continue this conversation (letters, digits, '-', '_'); omitted = a new one",
    )
    language: Language | None = Field(default=None, description="UI language for error texts")


class ToolCall(BaseModel):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ChatResponse(BaseModel):
    reply: str
    language: Language | None = None
    thread_id: str
    products: list[ProductCard] = Field(default_factory=list)
    tool_calls: list[ToolCall] = Field(default_factory=list)
    error: bool = False


class FeedbackRequest(BaseModel):
    thread_id: str = Field(min_length=1, max_length=64, pattern=THREAD_ID_PATTERN)
    message_index: int = Field(ge=0, le=10_000)
    liked: bool
    message: str = Field(default="", max_length=4000)


class SessionInfo(BaseModel):
    user_id: str | None
    role: str


def _ctx(request: Request) -> UiContext:
    return request.app.state.ui


def request_client(request: Request) -> str:
    """The client address, believing X-Forwarded-For only from ``settings.trusted_proxies``."""
    peer = request.client.host if request.client else None
    return client_address(
        peer, request.headers.get("x-forwarded-for"), _ctx(request).settings.trusted_proxy_list
    )


def _limit(request: Request, key: str) -> None:
    try:
        _ctx(request).check_rate(key)
    except RateLimited as exc:
        retry = str(max(1, round(exc.retry_after_s)))
        raise ApiError(429, "too many requests", str(exc), {"Retry-After": retry}) from exc


def _identify(request: Request, client: str) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    ctx = _ctx(request)
    if scheme.lower() == "bearer" and credentials.strip():
        try:
            return ctx.verify_token(credentials.strip())
        except TokenRefused as exc:
            raise ApiError(
                401, "invalid or expired widget token", str(exc), {"WWW-Authenticate": "Bearer"}
            ) from exc
    if scheme.lower() == "basic" and credentials.strip():
        try:
            name, colon, password = (
                base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiError(401, "malformed basic credentials", "expected base64 of 'name:password'") from exc
        if not colon:
            raise ApiError(401, "malformed basic credentials", "expected base64 of 'name:password'")
        try:
            if ctx.staff.login(name, password, client):
                return Principal.staff(name)
        except LockedOut as exc:
            retry = str(max(1, round(exc.retry_after_s)))
            raise ApiError(429, "too many failed logins", str(exc), {"Retry-After": retry}) from exc
        raise ApiError(401, "wrong staff username or password", headers={"WWW-Authenticate": "Basic"})
    raise ApiError(
        401,
        "authentication required",
        "send 'Authorization: Bearer <widget token>' or staff HTTP Basic credentials",
        {"WWW-Authenticate": "Bearer"},
    )


def authenticate(request: Request) -> Principal:
    """The caller from the Authorization header: a widget token (shopper) or HTTP Basic (staff). The request
    counts against the principal's rate limit, or, when authentication fails, against the client address."""
    client = request_client(request)
    if not _ctx(request).limiter.would_allow(f"ip:{client}"):
        _limit(request, f"ip:{client}")  # an address over its limit is refused before any password hashing
    try:
        principal = _identify(request, client)
    except ApiError:
        _limit(request, f"ip:{client}")
        raise
    _limit(request, principal.actor)
    return principal


def public_caller(request: Request) -> None:
    """Unauthenticated routes count against the client address."""
    _limit(request, f"ip:{request_client(request)}")


Caller = Annotated[Principal, Depends(authenticate)]
router = APIRouter(prefix="/api/v1", tags=["chat"])


def _prepare_turn(request: Request, body: ChatRequest, principal: Principal) -> tuple[str, str, str]:
    ctx = _ctx(request)
    lang = normalize_lang(body.language or request.headers.get("accept-language"))
    try:
        text = ctx.validate_message(body.message, lang)
    except ValueError as exc:
        raise ApiError(422, "invalid message", str(exc)) from exc
    client_thread = body.thread_id or uuid.uuid4().hex
    return text, client_thread, lang


@router.post("/chat", response_model=ChatResponse, summary="One chat turn (JSON in, JSON out)")
async def chat(request: Request, body: ChatRequest, principal: Caller) -> ChatResponse:
    text, client_thread, lang = _prepare_turn(request, body, principal)
    view = TurnView(normalize_lang(lang))
    calls: list[ToolCall] = []
    async for event in _ctx(request).stream(
        scoped_thread_id(principal, client_thread), text, principal, lang
    ):  # type: ignore[arg-type]
        view.apply(event)
        if event.type == "tool_start" and event.tool:
            calls.append(ToolCall(tool=event.tool, args=event.args))
    return ChatResponse(
        reply=view.reply or view.error_text,
        language=view.language,
        thread_id=client_thread,
        products=view.cards,
        tool_calls=calls,
        error=view.error,
    )


@router.post(
    "/chat/stream",
    summary="One chat turn as Server-Sent Events",
    description="Events: `session` (thread id) then the agent's ChatEvents (`token`, `tool_start`, `tool_end`, "
    "`products`, `done` or `error`), each `data:` a JSON object.",
    response_class=StreamingResponse,
)
async def chat_stream(request: Request, body: ChatRequest, principal: Caller) -> StreamingResponse:
    text, client_thread, lang = _prepare_turn(request, body, principal)
    ctx = _ctx(request)

    async def events() -> AsyncIterator[str]:
        yield f"event: session\ndata: {json.dumps({'thread_id': client_thread})}\n\n"
        async for event in ctx.stream(scoped_thread_id(principal, client_thread), text, principal, lang):  # type: ignore[arg-type]
            yield f"event: {event.type}\ndata: {event.model_dump_json()}\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


@router.get("/session", response_model=SessionInfo, summary="Who the credentials identify (checks a token)")
async def session(principal: Caller) -> SessionInfo:
    return SessionInfo(user_id=principal.user_id, role=principal.role.value)


@router.post("/feedback", summary="Like or dislike one assistant message", status_code=201)
async def post_feedback(request: Request, body: FeedbackRequest, principal: Caller) -> dict[str, bool]:
    thread = scoped_thread_id(principal, body.thread_id)
    _ctx(request).save_feedback(thread, principal.user_id, body.message_index, body.liked, body.message)
    return {"stored": True}


@router.get(
    "/products/{product_id}",
    summary="One catalog product (public catalog data)",
    dependencies=[Depends(public_caller)],
)
async def product(request: Request, product_id: str) -> dict[str, Any]:
    if len(product_id) > 64:
        raise ApiError(422, "invalid product id", "at most 64 characters")
    product = _ctx(request).product(product_id)
    if product is None:
        raise ApiError(404, "unknown product", product_id)
    return product.model_dump(mode="json")


@router.api_route(
    "/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
    dependencies=[Depends(public_caller)],
)
async def unknown_route(path: str) -> None:
    """Unknown API paths get a JSON 404 here (otherwise the page app mounted at / would answer)."""
    raise ApiError(404, "unknown API route", f"/api/v1/{path[:100]}")


def install_error_handlers(app: FastAPI) -> None:
    """Every failure is a JSON body with a clear message; none takes the server down."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = {"error": exc.error, "detail": exc.detail}
        return JSONResponse(body, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {
                "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
                "problem": err.get("msg", ""),
            }
            for err in exc.errors()
        ]
        return JSONResponse({"error": "invalid request", "detail": problems}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled API error", exc_info=exc)
        return JSONResponse({"error": "internal error", "detail": None}, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail), "detail": None}, status_code=exc.status_code)
