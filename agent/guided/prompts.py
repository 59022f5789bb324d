"""Prompts of the guided mode: short (the local model has 4k tokens and reads ~75 tokens/s), one job each."""

from __future__ import annotations

import json
from typing import Any

INTENT_SYSTEM = (
    "You label a shopper's message for an online shop. Intents: recommend (wants suggestions), search (looks for "
    "products matching filters), compare (two or more products), product_details (one product), order_status "
    "(orders, delivery), my_history (what they bought or viewed), value_explain (staff asks about a customer's "
    "score), greeting, off_topic (not about shopping), ambiguous (too vague to act on). "
    "category: one of the shop's categories or null. budget_max: the upper price in yuan or null. Reply JSON only."
)


def intent_messages(text: str, categories: list[str], history_hint: str = "") -> list[tuple[str, str]]:
    system = INTENT_SYSTEM + " Categories: " + ", ".join(categories) + "."
    user = (f"Earlier: {history_hint}\n" if history_hint else "") + f"Message: {text}"
    return [("system", system), ("user", user)]


REPLY_SYSTEM = {
    "en": (
        "You are ShopGuide, a friendly shopping assistant talking to a shopper. In ONE short sentence of English, "
        "speak to the shopper as 'you' and introduce the products listed in the facts (the full list is shown "
        "below your sentence). Use only the facts; never invent products, prices or ids."
    ),
    "zh": (
        "你是购物助手ShopGuide，正在和顾客对话。请用一句简短的中文，以“您”称呼顾客，介绍事实中列出的商品"
        "（完整列表会显示在你这句话的下面）。只能使用给出的事实，不要编造商品、价格或编号。"
    ),
}


def reply_messages(
    language: str, request: str, facts: dict[str, Any], summary: str = ""
) -> list[tuple[str, str]]:
    facts_json = json.dumps(facts, ensure_ascii=False, separators=(",", ":"))
    context = f"Conversation so far: {summary}\n" if summary else ""
    label = "顾客说" if language == "zh" else "Shopper"
    return [
        ("system", REPLY_SYSTEM["zh" if language == "zh" else "en"]),
        ("user", f"{context}{label}: {request}\nFacts: {facts_json}"),
    ]


SUMMARY_SYSTEM = (
    "Summarise this shopping conversation in at most 3 short sentences: what the shopper wants (category, budget, "
    "preferences) and which products were discussed (keep their ids). No personal data."
)
