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
        "You are ShopGuide, a shopping assistant talking to a shopper; the product list is shown under your words. "
        'Reply JSON: "opening" = ONE short friendly English sentence to the shopper (say "you") that answers their '
        "message in general words; no numbers, no prices, no product names, no comparisons, no customer levels. "
        '"highlight_id" = the id of the product that best fits the request. "reasons" = up to 2 of: lowest_price, '
        "best_rated, on_promotion, within_budget, highly_rated."
    ),
    "zh": (
        "你是购物助手ShopGuide，正在和顾客对话，商品列表会显示在你的话下面。请回复JSON："
        "opening = 一句简短友好的中文，用“您”称呼顾客，概括地回应顾客的话；不要写数字、价格、商品名，"
        "不要做比较，不要提客户等级。highlight_id = 最符合需求的商品id。reasons = 最多2个："
        "lowest_price、best_rated、on_promotion、within_budget、highly_rated。"
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
