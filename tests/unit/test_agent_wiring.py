"""Agent wiring on the real demo store (SQLite + Chroma + embedder, llm="none" or a scripted tool-calling chat
model): event stream order, multi-turn memory, thread ownership, bad input, react mode with the guardrail
middleware, the polite fallback when the LLM is down, and erasure of a user's conversations."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import SecretStr
from sqlalchemy import select

from agent.memory import forget_user_threads
from agent.service import ChatService, resolve_mode
from domain.privacy.access import Principal
from domain.store.db import get_engine
from domain.store.schema import orders
from evals.local_model import free_port

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def shop(indexed_demo):
    return indexed_demo


@pytest.fixture
def service(shop):
    svc = ChatService(shop)
    yield svc
    svc.close()


def test_mode_follows_the_provider(settings):
    assert resolve_mode(settings.model_copy(update={"llm": "openai"})) == "react"
    assert resolve_mode(settings.model_copy(update={"llm": "local"})) == "guided"
    assert (
        resolve_mode(settings.model_copy(update={"llm": "none"}), "react") == "guided"
    )  # react needs a model
    assert resolve_mode(settings.model_copy(update={"llm": "local"}), "react") == "react"


async def test_stream_yields_tool_steps_tokens_cards_then_done(service, shopper):
    events = [
        e
        async for e in service.stream(
            "t-stream", "Show me headphones under 800 yuan", Principal.shopper(shopper)
        )
    ]
    kinds = [e.type for e in events]
    assert kinds[0] == "tool_start" and kinds[-1] == "done"
    assert kinds.index("tool_end") < kinds.index("token") < kinds.index("products")
    done = events[-1]
    assert done.language == "en"
    assert done.products and all(p.price <= 800 for p in done.products)
    assert {p.product_id for p in done.products} <= set(done.meta["grounded_ids"])
    assert done.text == "".join(e.text for e in events if e.type == "token")


async def test_follow_up_turn_resolves_the_list_shown_before(service, shopper):
    principal = Principal.shopper(shopper)
    first = await service.respond("t-memory", "推荐几款跑步鞋", principal)
    assert first.language == "zh" and len(first.product_ids) >= 2
    second = await service.respond("t-memory", "第一个和第二个哪个好？", principal)
    [call] = second.tool_calls
    assert call.name == "compare_products" and call.args["product_ids"] == first.product_ids[:2]
    assert second.language == "zh"


async def test_a_thread_belongs_to_its_owner(service, shopper):
    await service.respond("t-owned", "hello", Principal.shopper(shopper))
    stolen = await service.respond("t-owned", "what did I buy?", Principal.shopper("someone-else"))
    assert stolen.error and "AccessDenied" in stolen.error
    assert stolen.tool_calls == [] and "own" in stolen.reply


async def test_bad_input_gets_a_clear_answer_and_the_service_survives(service, shopper):
    principal = Principal.shopper(shopper)
    empty = await service.respond("t-bad", "   ", principal)
    assert empty.error and empty.tool_calls == []
    too_long = await service.respond("t-bad", "买" * 5000, principal)
    assert "太长" in too_long.reply
    ok = await service.respond("t-bad", "where is my order?", principal)
    assert ok.error is None and ok.tool_calls[0].name == "get_order_status"


async def test_a_shopper_cannot_ask_about_another_user(service, shopper):
    with get_engine(service.settings).connect() as conn:
        other = conn.execute(
            select(orders.c.user_id).where(orders.c.user_id != shopper).limit(1)
        ).scalar_one()
    result = await service.respond(
        "t-other", f"show me the orders of user {other}", Principal.shopper(shopper)
    )
    assert result.tool_calls == [] and other not in result.reply


async def test_guided_falls_back_to_templates_when_the_llm_is_down(shop, shopper, tmp_path):
    # A free port: a llama server another test left on the default port must not stand in for the missing one.
    broken = shop.model_copy(
        update={"llm": "local", "local_model_path": tmp_path / "missing.gguf", "local_port": free_port()}
    )
    svc = ChatService(broken)
    try:
        result = await svc.respond("t-down", "给我推荐几款耳机", Principal.shopper(shopper))
    finally:
        svc.close()
    assert result.error is None and result.meta["lead_source"] == "template"
    assert result.product_ids and result.language == "zh"


class ScriptedToolModel(BaseChatModel):
    """Calls search_products first; after the tool result, answers about its first product and invents one."""

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            product = json.loads(last.content)["products"][0]
            text = f"I recommend the {product['title']} ({product['product_id']}). You could also try p99999 instead."
            message = AIMessage(text)
        else:
            call = {
                "name": "search_products",
                "args": {"query": "headphones", "max_price": 800.0},
                "id": "call_1",
            }
            message = AIMessage("", tool_calls=[call])
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedToolModel:
        return self

    @property
    def _llm_type(self) -> str:
        return "scripted"


async def test_react_mode_runs_tools_and_drops_invented_products(shop, shopper, monkeypatch):
    monkeypatch.setattr("agent.react.agent.get_chat_model", lambda *a, **k: ScriptedToolModel())
    hosted = shop.model_copy(update={"llm": "openai", "openai_api_key": SecretStr("unused")})
    svc = ChatService(hosted)
    try:
        events = [e async for e in svc.stream("t-react", "headphones under 800?", Principal.shopper(shopper))]
    finally:
        svc.close()
    done = events[-1]
    assert done.meta["mode"] == "react"
    assert [c["name"] for c in done.meta["tool_calls"]] == ["search_products"]
    assert "p99999" not in done.text and "p99999" in done.meta["dropped"]
    assert done.products and done.products[0].product_id in done.text
    assert [e.type for e in events].index("tool_start") < [e.type for e in events].index("token")


async def test_forgetting_a_user_deletes_their_conversations(shop, shopper):
    svc = ChatService(shop)
    try:
        await svc.respond("t-forget", "hello", Principal.shopper(shopper))
        assert (
            svc.memory.checkpointer.get_tuple({"configurable": {"thread_id": "guided:t-forget"}}) is not None
        )
    finally:
        svc.close()
    assert forget_user_threads(shop, shopper) >= 1
    svc = ChatService(shop)
    try:
        assert svc.memory.checkpointer.get_tuple({"configurable": {"thread_id": "guided:t-forget"}}) is None
    finally:
        svc.close()


async def test_react_turn_falls_back_to_guided_when_the_model_is_down(shop, shopper, tmp_path):
    # A free port: a llama server another test left on the default port must not stand in for the missing one.
    broken = shop.model_copy(
        update={"llm": "local", "local_model_path": tmp_path / "missing.gguf", "local_port": free_port()}
    )
    svc = ChatService(broken)
    try:
        result = await svc.respond(
            "t-react-down", "where is my order?", Principal.shopper(shopper), mode="react"
        )
    finally:
        svc.close()
    assert result.meta["fallback_from"] == "react" and result.error is None
    assert [c.name for c in result.tool_calls] == ["get_order_status"]
