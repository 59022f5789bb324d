"""LLM providers behind one settings switch: ``local`` (managed llama.cpp server), ``openai`` (any
OpenAI-compatible endpoint) or ``none``. Every model built here reports its prompts to :mod:`llm.spy`."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from domain.settings import Settings
from llm.local_server import LocalLlmUnavailable, ensure_local_server
from llm.spy import PromptSpyHandler

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger(__name__)

LOCAL_API_KEY = "sk-local-no-key"  # llama.cpp ignores it; the openai client insists on one
COOLDOWN_S = 20.0
_down_until: dict[str, float] = {}


class LlmUnavailable(RuntimeError):
    """The configured provider cannot be used (misconfigured or down); callers fall back to templates."""


def get_chat_model(
    settings: Settings, *, temperature: float = 0.2, max_tokens: int | None = 512, streaming: bool = False
) -> BaseChatModel | None:
    """The chat model for ``settings.llm``; None for ``none``.

    ``local`` starts (or reuses) the shared llama.cpp server first, so the returned model is ready to call.
    Timeouts and retries with exponential backoff come from the openai client (``llm_timeout_s``,
    ``llm_max_retries``); callers catch provider errors and fall back (see :mod:`llm.structured`).
    """
    from langchain_openai import ChatOpenAI

    if settings.llm == "none":
        return None
    if settings.llm == "local":
        key = f"local:{settings.local_port}"
        if time.monotonic() < _down_until.get(key, 0.0):
            raise LlmUnavailable("the local LLM failed moments ago; using the no-LLM path for now")
        try:
            base_url, alias = ensure_local_server(settings)
        except LocalLlmUnavailable:
            # Circuit breaker: one failed start must not make every step of a turn wait for another one.
            _down_until[key] = time.monotonic() + COOLDOWN_S
            raise
        return ChatOpenAI(
            model=alias,
            base_url=base_url,
            api_key=LOCAL_API_KEY,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            streaming=streaming,
            callbacks=[PromptSpyHandler("local", alias)],
        )
    if settings.llm == "openai":
        api_key = settings.openai_api_key.get_secret_value()
        if not api_key and not settings.openai_base_url:
            raise LlmUnavailable(
                "llm=openai needs SHOPGUIDE_OPENAI_API_KEY (and SHOPGUIDE_OPENAI_BASE_URL for a non-OpenAI endpoint)"
            )
        return ChatOpenAI(
            model=settings.openai_model,
            base_url=settings.openai_base_url or None,
            api_key=api_key or LOCAL_API_KEY,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
            streaming=streaming,
            callbacks=[PromptSpyHandler("openai", settings.openai_model)],
        )
    raise LlmUnavailable(f"unknown llm provider {settings.llm!r}")


def recover_provider(settings: Settings) -> bool:
    """After a connection failure: restart the local server if it died. True when a retry makes sense."""
    if settings.llm != "local":
        return False

    try:
        ensure_local_server(settings)
    except LocalLlmUnavailable as exc:
        log.warning("local LLM could not be restarted: %s", exc)
        return False
    return True


__all__ = ["LlmUnavailable", "get_chat_model", "recover_provider"]
