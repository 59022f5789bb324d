"""Structured output from any provider: JSON mode + pydantic validation, retries, None on failure.

llama.cpp's server returns HTTP 500 for ``response_format={"type": "json_schema"}`` but honours
``{"type": "json_object", "schema": {...}}`` (grammar-constrained decoding), so the local provider uses that;
OpenAI-compatible endpoints get the standard ``json_schema`` form. Every message is PII-masked before it is sent.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import openai
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

from domain.settings import Settings
from llm import LlmUnavailable, get_chat_model, recover_provider
from llm.masking import Masker, new_masker

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
MessageLike = BaseMessage | tuple[str, str] | dict[str, str]
_FENCE_RE = re.compile(r"^```(?:json)?\s*|\s*```$", re.MULTILINE)
_CONNECTION_ERRORS = (openai.APIConnectionError, openai.APITimeoutError, openai.InternalServerError)


def to_message(message: MessageLike) -> BaseMessage:
    if isinstance(message, BaseMessage):
        return message
    role, content = (message["role"], message["content"]) if isinstance(message, dict) else message
    if role == "system":
        return SystemMessage(content)
    if role in ("assistant", "ai"):
        return AIMessage(content)
    return HumanMessage(content)


def mask_messages(messages: Sequence[MessageLike], masker: Masker) -> list[BaseMessage]:
    masked = []
    for message in messages:
        msg = to_message(message)
        text = msg.content if isinstance(msg.content, str) else json.dumps(msg.content, ensure_ascii=False)
        masked.append(msg.model_copy(update={"content": masker.mask(text)}))
    return masked


def response_format_for(settings: Settings, schema: type[BaseModel]) -> dict[str, Any]:
    json_schema = schema.model_json_schema()
    if settings.llm == "local":
        return {"type": "json_object", "schema": json_schema}
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": json_schema, "strict": False},
    }


def parse_json_reply(text: str, schema: type[T]) -> T:
    """Validate a model's JSON reply; tolerates code fences and prose around one JSON object."""
    cleaned = _FENCE_RE.sub("", text.strip())
    start, end = cleaned.find("{"), cleaned.rfind("}")
    if start < 0 or end <= start:
        raise ValueError(f"no JSON object in reply: {text[:120]!r}")
    return schema.model_validate_json(cleaned[start : end + 1])


def invoke_structured(
    settings: Settings,
    messages: Sequence[MessageLike],
    schema: type[T],
    *,
    masker: Masker | None = None,
    retries: int = 2,
    max_tokens: int = 400,
) -> T | None:
    """One structured call: the schema-constrained reply validated as ``schema``, or None on any failure.

    Malformed output is retried (with the validation error shown to the model); a dead local server is
    restarted once. ``settings.llm == "none"`` returns None straight away.
    """
    if settings.llm == "none":
        return None
    masker = masker or new_masker()
    prompt = mask_messages(messages, masker)
    try:
        model = get_chat_model(settings, temperature=0.0, max_tokens=max_tokens)
    except Exception as exc:  # provider down or misconfigured: the caller falls back
        log.warning("structured call skipped, no model: %s", exc)
        return None
    if model is None:
        return None
    bound = model.bind(response_format=response_format_for(settings, schema))
    restarted = False
    attempt = 0
    while attempt <= retries:
        attempt += 1
        try:
            reply = bound.invoke(prompt)
        except _CONNECTION_ERRORS as exc:
            if not restarted and recover_provider(settings):
                restarted, attempt = True, attempt - 1
                continue
            log.warning("structured call failed: %s", exc)
            return None
        except (openai.APIError, LlmUnavailable) as exc:
            log.warning("structured call failed: %s", exc)
            return None
        text = reply.content if isinstance(reply.content, str) else str(reply.content)
        try:
            return parse_json_reply(text, schema)
        except (ValueError, ValidationError) as exc:
            log.info("malformed structured reply (attempt %d/%d): %s", attempt, retries + 1, exc)
            error = str(exc).splitlines()[0][:200]
            prompt = [
                *prompt,
                AIMessage(text[:1000]),
                HumanMessage(f"Invalid: {error}. Reply with valid JSON only."),
            ]
    return None
