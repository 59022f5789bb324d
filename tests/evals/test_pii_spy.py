"""PII spy: prompts sent to the local LLM are recorded through the spy hook (``llm.spy``) and contain no PII
the shopper typed. The same spy over the whole agent evaluation suite (no demo user's PII in any prompt) runs in
``tests/evals/test_agent_suite.py``, so the suite runs against the model once."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.privacy.access import Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import users
from evals.pii_audit import leaked_pii, stored_pii

TYPED_PII = {
    "phone": "13987654321",
    "email": "secret.shopper@example.org",
    "address": "北京市朝阳区建国路88号5栋1203室",
    "id_card": "110101199003071234",
}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def shop(small_shop_factory) -> Settings:  # type: ignore[no-untyped-def]
    """A small real shop with the local model on a private port (other sessions' servers cannot interfere)."""
    settings = small_shop_factory("pii_spy", llm="local", agent_mode="guided", local_port=_free_port())
    yield settings
    from llm.local_server import get_local_server

    get_local_server(settings).stop_if_owner()


@pytest.mark.llm
@pytest.mark.slow
def test_pii_typed_by_the_shopper_is_masked_before_the_model_sees_it(shop: Settings) -> None:
    from agent.service import ChatService
    from llm.spy import recording

    with get_engine(shop).connect() as conn:
        shopper = conn.execute(select(users.c.user_id).order_by(users.c.user_id)).scalars().first()
    service = ChatService(shop)
    messages = [
        f"我的手机是{TYPED_PII['phone']}，邮箱{TYPED_PII['email']}，请推荐一款耳机",
        f"Ship it to {TYPED_PII['address']}, my ID card is {TYPED_PII['id_card']}. Any running shoes?",
    ]
    try:
        with recording() as prompts:
            for i, message in enumerate(messages):
                result = service.respond_sync(f"spy-{i}", message, Principal.shopper(shopper), mode="guided")
                assert result.reply
    finally:
        service.close()
    assert prompts, "the local model must have been called"
    sent = "\n".join(p.text for p in prompts)
    for value in TYPED_PII.values():
        assert value not in sent
    assert re.search(r"\[(PHONE|EMAIL|ADDRESS|ID)_\d+\]", sent), "typed PII reaches the model as placeholders"


def test_the_leak_check_catches_raw_pii_in_a_recorded_prompt() -> None:
    """Guard against a vacuous pass: a listener registered on the hook receives each prompt as sent."""
    from langchain_core.messages import HumanMessage

    from llm.spy import emit, recording

    with recording() as prompts:
        emit("local", "test", [HumanMessage("raw 13800000000")])
    assert leaked_pii(prompts, {"13800000000": "u.phone(digits)"}) == [("u.phone(digits)", "raw 13800000000")]


def test_demo_pii_collection_is_not_empty(tmp_path: Path) -> None:
    """The detector's input is real: an ingested user's values come back decrypted."""
    from domain.ingest import ingest_path

    path = tmp_path / "users.jsonl"
    path.write_text(
        '{"user_id": "u1", "signup_at": "2024-01-01T00:00:00", "name": "李雷", "phone": "13811112222", '
        '"email": "li.lei@example.cn", "address": "上海市浦东新区张杨路100号"}\n',
        encoding="utf-8",
    )
    settings = Settings(data_dir=tmp_path / "data", llm="none", database_url="", encryption_key="")  # type: ignore[arg-type]
    ingest_path(settings, path, "users", progress=False)
    pii = stored_pii(settings)
    assert {"李雷", "13811112222", "li.lei@example.cn", "张杨路100号"} <= set(pii)
