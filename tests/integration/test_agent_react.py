"""React mode (LangChain v1 create_agent) driven by the real local 0.5B model through the managed server.

The small model is weak at choosing tools; what must hold whatever it does: the turn completes with a reply in
the shopper's language or the polite fallback, every tool it calls is a real tool bound to the session, and no
product it names was left ungrounded by the middleware. Quality is measured by ``shopguide eval agent``."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from agent.middleware.guards import check_text
from agent.service import ChatService
from agent.vocabulary import get_catalog
from domain.privacy.access import Principal
from domain.store.db import get_engine
from domain.store.schema import orders
from tools.registry import TOOL_NAMES

pytestmark = [pytest.mark.llm, pytest.mark.slow]
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def shop(local_demo):
    return local_demo


@pytest.mark.parametrize("message", ["Find me headphones under 500 yuan", "我的订单到哪了？"])
def test_react_turn_with_the_local_model_is_safe(shop, message):
    with get_engine(shop).connect() as conn:
        shopper = conn.execute(
            select(orders.c.user_id).group_by(orders.c.user_id).order_by(func.count().desc()).limit(1)
        ).scalar_one()
    service = ChatService(shop)
    try:
        result = service.respond_sync(f"r-{hash(message)}", message, Principal.shopper(shopper), mode="react")
    finally:
        service.close()
    assert result.mode == "react"
    assert result.reply.strip()
    assert all(call.name in TOOL_NAMES for call in result.tool_calls)
    assert all("user_id" not in call.args for call in result.tool_calls)  # shopper tools expose no user_id
    report = check_text(result.reply, get_catalog(shop), result.grounded_ids)
    assert not report.ungrounded_ids and not report.ungrounded_titles, result.reply
    assert set(result.product_ids) <= set(result.grounded_ids)
