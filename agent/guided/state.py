"""The guided graph's state (persisted per thread by the checkpointer) and the per-turn scratch it carries."""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class GuidedState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    summary: str  # condensed older turns (long chats)
    language: str  # "zh" | "en": the language of the last user message
    shown_products: list[str]  # ids of the last list shown ("the first one" resolves here)
    grounded_ids: list[str]  # every product id any tool returned in this conversation
    last_slots: dict[str, Any]  # category/budget carried into follow-ups ("cheaper ones?")
    turn: dict[str, Any]  # this turn only: intent, slots, tool runs, reply, cards


class GuidedContext(TypedDict, total=False):
    """Per-run context (not persisted): who is asking, and whether an LLM may be used this turn."""

    principal: Any
    use_llm: bool
