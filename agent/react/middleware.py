"""The guardrails as LangChain v1 agent middleware, for the react mode.

* :class:`MaskPromptMiddleware` — every message is PII-masked before the model sees it;
* :class:`TextToolCallMiddleware` — small local models (Qwen via llama.cpp) write tool calls as JSON text in
  ``content`` instead of ``tool_calls``; this turns such text into real tool calls for known tools only;
* :class:`GroundingMiddleware` — the final answer passes the faithfulness check (products, brands, numbers,
  tiers, comparisons, speaker, language against this conversation's tool results), is regenerated once with the
  failed claims, then loses the sentences that still fail; raw PII is masked.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.middleware.faithfulness import (
    Failure,
    build_evidence,
    check_reply,
    feedback_text,
    generate_faithful,
)
from agent.middleware.guards import (
    clean_markup,
    drop_ungrounded,
    mask_output,
    refs_in_outputs,
    split_sentences,
)
from agent.toolbox import collect_product_ids
from agent.vocabulary import Catalog
from domain.i18n import detect_language, t
from llm.masking import new_masker
from llm.structured import mask_messages

_CALL_START_RE = re.compile(r"\{\s*\"name\"\s*:")
_FENCED_JSON_RE = re.compile(r"```(?:json)?\s*\{.*?\}\s*```|<tool_call>.*?</tool_call>", re.S)
_DECODER = json.JSONDecoder()


def json_calls_in(text: str) -> list[dict[str, Any]]:
    """Every ``{"name": ..., "arguments"/"parameters": ...}`` object written in the text, in order."""
    found = []
    for match in _CALL_START_RE.finditer(text):
        try:
            payload, _ = _DECODER.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(payload, dict):
            found.append(payload)
    return found


class MaskPromptMiddleware(AgentMiddleware):
    def __init__(self, masker: Any) -> None:
        super().__init__()
        self.masker = masker

    def _mask(self, message: BaseMessage) -> BaseMessage:
        if isinstance(message.content, str) and message.content:
            return message.model_copy(update={"content": self.masker.mask(message.content)})
        return message

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        return handler(request.override(messages=[self._mask(m) for m in request.messages]))


class TextToolCallMiddleware(AgentMiddleware):
    def __init__(self, tool_names: list[str]) -> None:
        super().__init__()
        self.tool_names = set(tool_names)

    def _parse(self, text: str) -> list[dict[str, Any]]:
        calls = []
        for payload in json_calls_in(text):
            name = payload.get("name")
            args = payload.get("arguments", payload.get("parameters", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except json.JSONDecodeError:
                    continue
            if name in self.tool_names and isinstance(args, dict):
                calls.append(
                    {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
                )
        return calls

    def wrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        response = handler(request)
        fixed: list[BaseMessage] = []
        for message in response.result:
            if isinstance(message, AIMessage) and not message.tool_calls and isinstance(message.content, str):
                calls = self._parse(message.content)
                if calls:
                    # Keep the text as content: llama.cpp's server rejects an assistant turn whose content is
                    # null, which is what an empty content with tool calls becomes on the wire.
                    message = AIMessage(content=message.content, tool_calls=calls, id=message.id)
            fixed.append(message)
        response.result = fixed
        return response


def tool_outputs(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    outputs = []
    for message in messages:
        if isinstance(message, ToolMessage):
            artifact = getattr(message, "artifact", None)
            if artifact is not None and hasattr(artifact, "model_dump"):
                outputs.append(artifact.model_dump(mode="json"))
            else:
                try:
                    data = json.loads(message.content) if isinstance(message.content, str) else None
                except json.JSONDecodeError:
                    data = None
                if isinstance(data, dict):
                    outputs.append(data)
    return outputs


class GroundingMiddleware(AgentMiddleware):
    """The final answer passes the faithfulness check (agent.middleware.faithfulness): on failure the model is
    asked once more with the failed claims; then only the sentences that pass are kept (the polite template
    when none do)."""

    def __init__(
        self, catalog: Catalog, own_user_id: str | None, model: Any = None, masker: Any = None
    ) -> None:
        super().__init__()
        self.catalog = catalog
        self.own_user_id = own_user_id
        self.model = model
        self.masker = masker or new_masker()
        self.dropped: list[str] = []
        self.faithfulness: dict[str, Any] | None = None

    def _rewrite(self, messages: list[BaseMessage], failures: list[Failure], lang: str) -> str | None:
        if self.model is None:
            return None
        prompt = mask_messages([*messages[:-1], HumanMessage(feedback_text(failures, lang))], self.masker)
        reply = self.model.invoke(prompt)
        if not isinstance(reply.content, str) or getattr(reply, "tool_calls", None):
            return None
        return _without_call_json(reply.content)

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        messages = state["messages"]
        last = messages[-1]
        if not isinstance(last, AIMessage) or last.tool_calls or not isinstance(last.content, str):
            return None
        outputs = tool_outputs(messages)
        grounded = [pid for out in outputs for pid in collect_product_ids(out)]
        allowed = refs_in_outputs(outputs)
        if self.own_user_id:
            allowed.add(self.own_user_id.lower())
        asked = _last_human(messages)
        lang = detect_language(asked, default="en")
        evidence = build_evidence(outputs, asked, grounded, allowed)
        first = _without_call_json(last.content)

        def check(text: str) -> list[Failure]:
            return check_reply(text, evidence, lang, self.catalog)

        checked = generate_faithful(
            lambda failures: self._rewrite(messages, failures, lang) if failures else first,
            check,
            where="react",
        )
        self.faithfulness = {"outcome": checked.outcome, "sentences": checked.sentences}
        kept = checked.text
        if kept is None:  # keep what passes of the first answer
            sentences = [x for x in split_sentences(first) if not check(x)]
            _, report = drop_ungrounded(first, self.catalog, grounded, allowed)
            self.dropped += report.ungrounded_ids + report.ungrounded_titles + report.leaked_ids
            joiner = "" if lang == "zh" else " "
            kept = joiner.join(x.strip() for x in sentences).strip()
        kept = mask_output(kept)
        if kept == last.content:
            return None
        if not kept:
            kept = t("fallback", lang)
        return {"messages": [AIMessage(content=kept, id=last.id)]}


def _without_call_json(text: str) -> str:
    """A small model may end with tool-call JSON it was not allowed to run: never show that to a shopper."""
    text = clean_markup(_FENCED_JSON_RE.sub("", text))
    for payload in json_calls_in(text):
        text = text.replace(json.dumps(payload), "")
    return "" if json_calls_in(text) else text


def _last_human(messages: list[BaseMessage]) -> str:
    for message in reversed(messages):
        if message.type == "human" and isinstance(message.content, str):
            return message.content
    return ""
