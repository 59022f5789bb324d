"""PII spy: every prompt sent to the local LLM across the agent evaluation suite is recorded through the spy hook
(``agent.llm.spy``), and none of them contains any PII of any demo user, nor PII the shopper typed."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from domain.privacy.access import Principal
from domain.privacy.crypto import PiiCipher
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import users

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
def shop(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A small real shop with the local model on a private port (other sessions' servers cannot interfere)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from domain.demo import generate_demo_shop
    from domain.ingest import ingest_demo
    from vectorstore.index import get_shop_index

    root = tmp_path_factory.mktemp("pii_spy")
    generate_demo_shop(root / "demo", n_users=40, n_products=40)
    settings = Settings(
        data_dir=root / "data", llm="local", agent_mode="guided", local_port=_free_port(), database_url="",
        chroma_url="", chroma_path=None, encryption_key="", encryption_key_file=None,
    )  # type: ignore[arg-type]  # fmt: skip
    ingest_demo(settings, root / "demo", progress=False)
    get_shop_index(settings).refresh(progress=False)
    yield settings
    from agent.llm.local_server import get_local_server

    get_local_server(settings).stop_if_owner()


def demo_pii(settings: Settings) -> dict[str, str]:
    """Every stored PII value (decrypted) -> 'user_id.field'; phones also as bare digits."""
    cipher = PiiCipher.from_settings(settings)
    found: dict[str, str] = {}
    with get_engine(settings).connect() as conn:
        for row in conn.execute(select(users)).mappings():
            for column in ("name_enc", "phone_enc", "email_enc", "address_enc"):
                value = cipher.decrypt(row[column])
                if not value:
                    continue
                owner = f"{row['user_id']}.{column.removesuffix('_enc')}"
                found[value] = owner
                if column == "phone_enc":
                    found[re.sub(r"\D", "", value)[-11:]] = owner + "(digits)"
                if column == "address_enc":  # the street-and-number core of an address is already identifying
                    core = re.search(
                        r"[\u4e00-\u9fff]{2}(?:路|街|大道)\d+号|\d+ [A-Z][a-z]+ [A-Z][a-z]+", value
                    )
                    if core:
                        found[core.group()] = owner + "(street)"
    return found


def _leaks(prompts: list, pii: dict[str, str]) -> list[tuple[str, str]]:
    hits = []
    for record in prompts:
        text = record.text
        digits = re.sub(r"[\s\-]", "", text)
        for value, owner in pii.items():
            if value in text or (owner.endswith("(digits)") and value in digits):
                hits.append((owner, text[:120]))
    return hits


@pytest.mark.llm
@pytest.mark.slow
def test_no_demo_pii_in_any_prompt_of_the_agent_eval_suite(shop: Settings) -> None:
    from agent.evals.fixtures import cleanup, eval_settings, find_personas
    from agent.evals.runner import load_scenarios, run_suite
    from agent.llm.spy import recording

    settings = eval_settings(shop)
    try:
        personas = find_personas(settings)
        with recording() as prompts:
            summary = run_suite(settings, personas, load_scenarios(), mode="guided")
    finally:
        cleanup(settings)
    assert summary["runs"] >= 40
    assert len(prompts) >= 40, "the suite must really have talked to the model"
    assert all(p.provider == "local" for p in prompts)
    pii = demo_pii(shop)
    assert len(pii) >= 100
    assert _leaks(prompts, pii) == []


@pytest.mark.llm
@pytest.mark.slow
def test_pii_typed_by_the_shopper_is_masked_before_the_model_sees_it(shop: Settings) -> None:
    from agent.llm.spy import recording
    from agent.service import ChatService

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

    from agent.llm.spy import emit, recording

    with recording() as prompts:
        emit("local", "test", [HumanMessage("raw 13800000000")])
    assert _leaks(prompts, {"13800000000": "u.phone(digits)"}) == [("u.phone(digits)", "raw 13800000000")]


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
    pii = demo_pii(settings)
    assert {"李雷", "13811112222", "li.lei@example.cn", "张杨路100号"} <= set(pii)
