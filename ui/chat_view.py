"""Turns the agent's ``ChatEvent`` stream into Gradio chat messages: tool steps as collapsible "thinking" boxes
(ChatMessage metadata title/status), reply text streamed into one assistant bubble, product cards collected aside.
"""

from __future__ import annotations

import json
import time
from typing import Any

from agent.events import ChatEvent, ProductCard
from domain.i18n import Language

# Friendly names for the agent's tools; unknown tools show their own name.
TOOL_LABELS: dict[str, dict[Language, str]] = {
    "user_history": {"zh": "查看购买与浏览记录", "en": "Reading purchase and browsing history"},
    "get_user_history": {"zh": "查看购买与浏览记录", "en": "Reading purchase and browsing history"},
    "user_profile": {"zh": "分析用户画像", "en": "Building the shopper profile"},
    "get_user_profile": {"zh": "分析用户画像", "en": "Building the shopper profile"},
    "value_assessment": {"zh": "评估用户价值", "en": "Scoring customer value"},
    "assess_value": {"zh": "评估用户价值", "en": "Scoring customer value"},
    "assess_user_value": {"zh": "评估用户价值", "en": "Scoring customer value"},
    "get_value_assessment": {"zh": "评估用户价值", "en": "Scoring customer value"},
    "product_search": {"zh": "搜索商品", "en": "Searching products"},
    "search_products": {"zh": "搜索商品", "en": "Searching products"},
    "recommend_products": {"zh": "生成个性化推荐", "en": "Picking recommendations"},
    "product_details": {"zh": "查看商品详情", "en": "Reading product details"},
    "get_product_details": {"zh": "查看商品详情", "en": "Reading product details"},
    "compare_products": {"zh": "对比商品", "en": "Comparing products"},
    "order_status": {"zh": "查询订单状态", "en": "Checking order status"},
    "get_order_status": {"zh": "查询订单状态", "en": "Checking order status"},
}

_MAX_STEP_CHARS = 600


def tool_label(tool: str | None, lang: Language) -> str:
    name = tool or "tool"
    return TOOL_LABELS.get(name, {}).get(lang, name)


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _MAX_STEP_CHARS else text[:_MAX_STEP_CHARS] + " …"


class TurnView:
    """The chatbot messages of one turn, rebuilt as events arrive (append-only except for step status)."""

    def __init__(self, lang: Language) -> None:
        self.lang = lang
        self.steps: list[dict[str, Any]] = []
        self._open_steps: dict[str, tuple[int, float]] = {}
        self.reply = ""
        self.cards: list[ProductCard] = []
        self.language: Language | None = None
        self.error = False
        self.error_text = ""
        self.done = False

    def apply(self, event: ChatEvent) -> None:
        if event.language:
            self.language = event.language
        if event.type == "tool_start":
            args = f"`{_short(event.args)}`" if event.args else ""
            self.steps.append(
                {
                    "role": "assistant",
                    "content": args,
                    "metadata": {
                        "title": f"🔧 {tool_label(event.tool, self.lang)}",
                        "status": "pending",
                        "id": f"step-{len(self.steps)}",
                    },
                }
            )
            self._open_steps[event.tool or ""] = (len(self.steps) - 1, time.perf_counter())
        elif event.type == "tool_end":
            index, started = self._open_steps.pop(event.tool or "", (None, time.perf_counter()))
            if index is None:  # an end without a start: show it as a finished step
                self.apply(ChatEvent(type="tool_start", tool=event.tool, args=event.args))
                index, started = self._open_steps.pop(event.tool or "")
            step = self.steps[index]
            if event.output:
                step["content"] = (step["content"] + "\n\n" if step["content"] else "") + _short(event.output)
            step["metadata"] = {
                **step["metadata"],
                "status": "done",
                "duration": round(time.perf_counter() - started, 2),
            }
        elif event.type == "token":
            self.reply += event.text
        elif event.type == "products":
            self.cards = list(event.products)
        elif event.type == "done":
            if event.text and not self.reply.strip():
                self.reply = event.text
            if event.products and not self.cards:
                self.cards = list(event.products)
            self.done = True
        elif event.type == "error":
            # The agent follows an error with a polite reply of its own; the raw text is shown only if none comes.
            self.error = True
            self.error_text = event.text

    def close_open_steps(self) -> None:
        """Mark steps still pending as done (a stopped or failed turn must not spin forever)."""
        for index, _ in self._open_steps.values():
            self.steps[index]["metadata"] = {**self.steps[index]["metadata"], "status": "done"}
        self._open_steps.clear()

    def messages(self) -> list[dict[str, Any]]:
        out = list(self.steps)
        if self.reply:
            out.append({"role": "assistant", "content": self.reply})
        elif self.error_text:
            out.append({"role": "assistant", "content": f"⚠️ {self.error_text}"})
        elif not self.done:
            out.append({"role": "assistant", "content": "…"})
        return out
