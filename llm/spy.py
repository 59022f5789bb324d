"""The prompt spy hook: every prompt sent to any LLM passes through here before it leaves the process.

Listeners are plain callables receiving a :class:`PromptRecord`. The privacy test registers one to prove no PII
reaches a model; a debugging session can register one to print prompts. The hook is fed by a LangChain callback
handler attached to every chat model built by :func:`llm.get_chat_model`, so no code path can bypass it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, Field


class PromptRecord(BaseModel):
    """One prompt as sent: the provider, the model name and every message's role and text."""

    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    provider: str
    model: str = ""
    messages: list[dict[str, str]]

    @property
    def text(self) -> str:
        return "\n".join(m["content"] for m in self.messages)


PromptListener = Callable[[PromptRecord], None]

_listeners: list[PromptListener] = []
_lock = threading.Lock()


def add_listener(listener: PromptListener) -> None:
    with _lock:
        _listeners.append(listener)


def remove_listener(listener: PromptListener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


@contextmanager
def recording() -> Iterator[list[PromptRecord]]:
    """Collect every prompt sent while the block runs: ``with recording() as prompts: ...``."""
    prompts: list[PromptRecord] = []
    add_listener(prompts.append)
    try:
        yield prompts
    finally:
        remove_listener(prompts.append)


def _message_text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        text = content
    else:  # content blocks
        text = " ".join(b if isinstance(b, str) else str(b.get("text", b)) for b in content)
    tool_calls = getattr(message, "tool_calls", None)
    if tool_calls:
        text += " " + " ".join(f"{c['name']}({c['args']})" for c in tool_calls)
    return text


def emit(provider: str, model: str, messages: list[BaseMessage]) -> None:
    record = PromptRecord(
        provider=provider,
        model=model,
        messages=[{"role": m.type, "content": _message_text(m)} for m in messages],
    )
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(record)


class PromptSpyHandler(BaseCallbackHandler):
    """Feeds every chat-model start (sync, async, streamed, with tools or JSON mode) to the spy listeners."""

    raise_error = True  # a failing privacy listener must fail the call, not be swallowed

    def __init__(self, provider: str, model: str) -> None:
        self.provider = provider
        self.model = model

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[BaseMessage]],
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        for batch in messages:
            emit(self.provider, self.model, batch)
