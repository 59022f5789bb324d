"""``ChatService``: the one entry point of every UI. ``stream`` yields :class:`ChatEvent`s for a turn (tool
steps, token deltas, product cards, ``done``); ``respond`` collects them into a :class:`ChatResult`.

A turn runs in a worker thread (the tools are synchronous: SQLite, Chroma, the embedder) and its events are
handed to the caller's event loop through a queue, so a slow turn never blocks the server. Any failure ends the
turn with a polite bilingual fallback, never an exception in the UI.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, Field

from agent.events import ChatEvent, ProductCard
from agent.guided.graph import build_guided_graph
from agent.memory import ConversationMemory
from agent.react.agent import run_react_turn
from domain.i18n import detect_language, t
from domain.models import Language
from domain.privacy.access import AccessDenied, Principal
from domain.settings import Settings
from llm import LlmUnavailable, recover_provider
from llm.local_server import LocalLlmUnavailable, install_sigterm_exit

log = logging.getLogger(__name__)

Mode = Literal["react", "guided"]


class BadRequest(ValueError):
    """The message itself is unusable (empty, too long); its text is the reply shown to the user."""


class ToolCall(BaseModel):
    name: str
    args: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None


class ChatResult(BaseModel):
    thread_id: str
    mode: Mode
    reply: str
    language: Language
    intent: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    product_ids: list[str] = Field(default_factory=list)  # the products carded in this reply
    products: list[ProductCard] = Field(default_factory=list)
    grounded_ids: list[str] = Field(default_factory=list)  # every product id tools returned in the thread
    first_token_s: float | None = None
    total_s: float = 0.0
    error: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


def resolve_mode(settings: Settings, mode: str | None = None) -> Mode:
    """Explicit mode, else the setting; ``auto`` follows the provider (openai -> react, local/none -> guided).
    React needs a model: with ``llm=none`` it degrades to guided."""
    chosen = mode or settings.agent_mode
    if chosen == "auto":
        chosen = "react" if settings.llm == "openai" else "guided"
    if chosen == "react" and settings.llm == "none":
        return "guided"
    if chosen not in ("react", "guided"):
        raise BadRequest(f"unknown agent mode {chosen!r}: use react, guided or auto")
    return chosen  # type: ignore[return-value]


class ChatService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.ensure_dirs()
        self.memory = ConversationMemory(settings)
        self._guided: Any = None
        self._lock = threading.Lock()
        if settings.llm == "local":
            install_sigterm_exit()  # turns run in worker threads: set it up here, on the caller's thread

    # ------------------------------------------------------------------------------------------- public API
    async def stream(
        self, thread_id: str, message: str, principal: Principal, *, mode: str | None = None
    ) -> AsyncIterator[ChatEvent]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[ChatEvent | None] = asyncio.Queue()

        def emit(event: ChatEvent | None) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, event)

        worker = loop.run_in_executor(None, self._run_turn_safely, thread_id, message, principal, mode, emit)
        while True:
            event = await queue.get()
            if event is None:
                break
            yield event
        await worker

    async def respond(
        self, thread_id: str, message: str, principal: Principal, *, mode: str | None = None
    ) -> ChatResult:
        events = [event async for event in self.stream(thread_id, message, principal, mode=mode)]
        return result_from_events(thread_id, events)

    def respond_sync(
        self, thread_id: str, message: str, principal: Principal, *, mode: str | None = None
    ) -> ChatResult:
        """The same turn without an event loop (CLI, eval, bench)."""
        events: list[ChatEvent] = []
        self._run_turn_safely(thread_id, message, principal, mode, lambda e: events.append(e) if e else None)
        return result_from_events(thread_id, events)

    def close(self) -> None:
        self.memory.close()

    # ------------------------------------------------------------------------------------------- a turn
    def _run_turn_safely(
        self,
        thread_id: str,
        message: str,
        principal: Principal,
        mode: str | None,
        emit: Callable[[ChatEvent | None], None],
    ) -> None:
        started = time.perf_counter()
        first_token: list[float] = []
        language = detect_language(message or "", default="zh")
        chosen: Mode = "guided"

        def timed_emit(event: ChatEvent) -> None:
            if event.type == "token" and not first_token:
                first_token.append(time.perf_counter() - started)
            emit(event)

        try:
            chosen = resolve_mode(self.settings, mode)
            text = self._validate(message, language)
            key = self.memory.claim(chosen, thread_id, principal)
            if chosen == "guided":
                done = self._guided_turn(key, text, principal, timed_emit)
            else:
                done = self._react_turn(chosen, thread_id, key, text, principal, timed_emit)
        except Exception as exc:  # a bad request or a failure mid-turn: a polite reply, never a crash
            if not isinstance(exc, AccessDenied | BadRequest):
                log.exception("chat turn failed")
            reason = "access_denied" if isinstance(exc, AccessDenied) else "fallback"
            text_out = str(exc) if isinstance(exc, BadRequest) else t(reason, language)
            timed_emit(ChatEvent(type="error", text=f"{type(exc).__name__}: {exc}", language=language))
            timed_emit(ChatEvent(type="token", text=text_out, language=language))
            done = ChatEvent(
                type="done", text=text_out, language=language, meta={"error": type(exc).__name__}
            )
        done.meta.update(
            mode=chosen,
            total_s=round(time.perf_counter() - started, 4),
            first_token_s=round(first_token[0], 4) if first_token else None,
        )
        try:
            emit(done)
        finally:
            emit(None)

    def _react_turn(
        self,
        mode: str,
        thread_id: str,
        key: str,
        text: str,
        principal: Principal,
        emit: Callable[[ChatEvent], None],
    ) -> ChatEvent:
        """When the react agent cannot run or fails mid-turn (provider down, connection lost, server error), the
        turn is served by the guided mode (templates if need be): a useful answer instead of an apology. Tool
        events already streamed stay valid; the guided turn streams its own reply."""

        try:
            return run_react_turn(self.settings, self.memory.checkpointer, key, text, principal, emit)
        except (LlmUnavailable, LocalLlmUnavailable) as exc:
            log.warning("react mode unavailable (%s): guided fallback for this turn", exc)
        except Exception as exc:  # the model died or misbehaved mid-turn (connection lost, HTTP 500, ...)
            log.warning("react turn failed (%s: %s): guided fallback for this turn", type(exc).__name__, exc)
            recover_provider(self.settings)  # restarts a dead local server for the next turns
        guided_key = self.memory.claim("guided", thread_id, principal)
        done = self._guided_turn(guided_key, text, principal, emit)
        done.meta["fallback_from"] = mode
        return done

    def _validate(self, message: str, language: str) -> str:
        text = (message or "").strip()
        if not text:
            raise BadRequest(say_empty(language))
        if len(text) > self.settings.max_message_chars:
            raise BadRequest(say_too_long(language, self.settings.max_message_chars))
        return text

    def _guided_graph(self) -> Any:
        with self._lock:
            if self._guided is None:
                self._guided = build_guided_graph(self.settings, self.memory.checkpointer)
            return self._guided

    def _guided_turn(
        self, key: str, text: str, principal: Principal, emit: Callable[[ChatEvent], None]
    ) -> ChatEvent:
        graph = self._guided_graph()
        config = {"configurable": {"thread_id": key}}
        context = {"principal": principal, "use_llm": self.settings.llm != "none"}
        for chunk in graph.stream(
            {"messages": [HumanMessage(text)], "turn": {}}, config, context=context, stream_mode="custom"
        ):
            emit(ChatEvent.model_validate(chunk))
        state = graph.get_state(config).values
        turn = state.get("turn") or {}
        return ChatEvent(
            type="done",
            text=turn.get("reply", ""),
            language=turn.get("language", "en"),
            products=[ProductCard.model_validate(c) for c in turn.get("cards", [])],
            meta={
                "intent": turn.get("intent"),
                "intent_source": turn.get("intent_source"),
                "lead_source": turn.get("lead_source"),
                "faithfulness": turn.get("faithfulness"),
                "tool_calls": [
                    {"name": r["name"], "args": r["args"], "error": r.get("error")}
                    for r in turn.get("tool_runs", [])
                ],
                "grounded_ids": list(state.get("grounded_ids") or []),
            },
        )


def say_empty(language: str) -> str:
    return "请输入您的问题。" if language == "zh" else "Please type a message."


def say_too_long(language: str, limit: int) -> str:
    return (
        f"消息太长了（最多{limit}个字符）。"
        if language == "zh"
        else f"That message is too long (max {limit} characters)."
    )


def result_from_events(thread_id: str, events: list[ChatEvent]) -> ChatResult:
    done = next((e for e in reversed(events) if e.type == "done"), None)
    if done is None:
        raise RuntimeError("turn ended without a done event")
    errors = [e.text for e in events if e.type == "error"]
    cards = done.products or [p for e in events if e.type == "products" for p in e.products]
    return ChatResult(
        thread_id=thread_id,
        mode=done.meta.get("mode", "guided"),
        reply=done.text,
        language=done.language or "en",
        intent=done.meta.get("intent"),
        tool_calls=[ToolCall.model_validate(c) for c in done.meta.get("tool_calls", [])],
        product_ids=[c.product_id for c in cards],
        products=cards,
        grounded_ids=done.meta.get("grounded_ids", []),
        first_token_s=done.meta.get("first_token_s"),
        total_s=done.meta.get("total_s", 0.0),
        error=errors[0] if errors else None,
        meta={k: v for k, v in done.meta.items() if k not in ("tool_calls", "grounded_ids")},
    )
