"""Prompts of the guided mode: short (the local model has 4k tokens and reads ~75 tokens/s), one job each."""

from __future__ import annotations

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
        "You are ShopGuide, a shop assistant. Products are listed under your words. Reply JSON "
        '{"opening": ONE short English sentence to the shopper that says what you are showing them}. '
        'Say "you". No numbers, prices, product or brand names, comparisons, customer levels or questions; '
        "no words about price or value."
    ),
    "zh": (
        "你是商店的购物助手ShopGuide，商品列表显示在你的话下面。回复JSON "
        '{"opening": 一句以“为您”开头的简短中文，告诉顾客你为他展示了什么}。不写数字、价格、商品名、品牌，'
        "不做比较，不提客户等级，不提问，不评价价格高低。"
    ),
}
# Worked examples after the system prompt: with it they form the static prefix the llama.cpp prompt cache keeps
# evaluated, so they cost no prompt reading after the first turn.
REPLY_EXAMPLES = {
    "en": (
        ("Shopper: Recommend some headphones\nShown: 5 × headphones, best match first",
         '{"opening": "Here are some headphones you might like."}'),
        ("Shopper: cheaper running shoes please\nShown: 5 × running shoes, cheapest first",
         '{"opening": "Here are some running shoes for you."}'),
    ),
    "zh": (
        ("顾客说：推荐几款蓝牙耳机\n展示：5件耳机，最匹配的在前",
         '{"opening": "为您找到了几款蓝牙耳机。"}'),
        ("顾客说：送妈妈的护肤品\n展示：5件护肤品，最匹配的在前",
         '{"opening": "为您挑选了几款适合送妈妈的护肤品。"}'),
    ),
}  # fmt: skip


def reply_messages(language: str, request: str, facts: str, summary: str = "") -> list[tuple[str, str]]:
    lang = "zh" if language == "zh" else "en"
    examples = [m for user, reply in REPLY_EXAMPLES[lang] for m in (("user", user), ("assistant", reply))]
    context = f"Conversation so far: {summary}\n" if summary else ""
    label = "顾客说：" if lang == "zh" else "Shopper: "
    return [("system", REPLY_SYSTEM[lang]), *examples, ("user", f"{context}{label}{request}\n{facts}")]


SUMMARY_SYSTEM = (
    "Summarise this shopping conversation in at most 3 short sentences: what the shopper wants (category, budget, "
    "preferences) and which products were discussed (keep their ids). No personal data."
)
