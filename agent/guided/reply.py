"""Guided mode, step 3: the reply. Code renders the facts (product lists, orders, scores, reviews) from tool
outputs; an LLM, when there is one, only fills a one-field schema (an opening sentence) from a few worded facts.
The opening passes the faithfulness check before it is shown; the highlighted product, its reasons and every
number are chosen and rendered by code."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, Field

from agent.events import ProductCard
from agent.guided import answers, templates
from agent.guided.prompts import reply_messages
from agent.middleware.faithfulness import (
    Evidence,
    Failure,
    Outcome,
    check_reply,
    feedback_text,
    generate_faithful,
)
from agent.middleware.guards import clean_markup, mask_output, split_sentences
from agent.vocabulary import Catalog
from domain.i18n import t
from domain.settings import Settings
from llm.structured import invoke_structured

log = logging.getLogger(__name__)

LEAD_INTENTS = ("recommend", "search", "compare", "product_details")
LEAD_PRODUCTS = 5
# One short sentence: ~25 English or ~35 Chinese tokens. LEAD_TOKENS covers it inside its JSON object.
OPENING_MAX_CHARS = {"en": 120, "zh": 50}
LEAD_TOKENS = 64
_SENTENCE_ENDS = (".", "!", "?", "。", "！", "？")


def _examples(catalog: Catalog, lang: str) -> str:
    cats = list(catalog.categories.items())[:3]
    if lang == "zh":
        return "、".join(zh or slug for slug, (_, zh) in cats) or "耳机、咖啡、跑步鞋"
    return ", ".join(words for _, (words, _) in cats) or "headphones, coffee, running shoes"


def compose_body(
    turn: dict[str, Any], catalog: Catalog, member_levels: dict[str, tuple[str, str]] | None = None
) -> tuple[str, str, list[ProductCard]]:
    """``(header, body, cards)`` rendered from the tool outputs of the turn (no LLM)."""
    lang, intent = turn["language"], turn["intent"]
    examples = _examples(catalog, lang)
    if turn.get("clarify"):
        return t(turn["clarify"], lang, examples=examples), "", []
    if turn.get("direct"):
        return t(turn["direct"], lang, examples=examples), "", []
    runs = turn.get("tool_runs") or []
    if intent == "member_level":
        segment = ((runs[-1].get("output") or {}).get("segment") if runs else None) or None
        return answers.member_level_answer(lang, segment, member_levels or {}), "", []
    if not runs:
        return t("clarify", lang, examples=examples), "", []
    run = next((r for r in runs if r["name"] == "compare_products"), runs[-1])
    if run.get("error_code"):
        return t(run["error_code"], lang), "", []
    output = run["output"] or {}
    slots = turn["slots"]
    if intent in ("recommend", "search"):
        cards = [templates.card_of(p) for p in output.get("products", [])]
        if not cards:
            return (
                t(
                    "no_results",
                    lang,
                    budget=templates.budget_text(lang, slots["budget_min"], slots["budget_max"]),
                ),
                "",
                [],
            )
        category = None
        if slots.get("category") and slots["category"] in catalog.categories:
            words, zh = catalog.categories[slots["category"]]
            category = zh if lang == "zh" and zh else words
        header = templates.list_header(lang, len(cards), category, slots["budget_min"], slots["budget_max"])
        if turn.get("not_carried"):
            header = t(
                "not_carried", lang, asked=turn["not_carried"], what=category or t("products_word", lang)
            )
        body = "\n".join(templates.product_line(lang, i, c) for i, c in enumerate(cards, 1))
        return header, body, cards
    if intent == "compare":
        cards = [templates.card_of(p) for p in output.get("products", [])]
        details = [r["output"] for r in runs if r["name"] == "get_product_details" and r.get("output")]
        if slots.get("criterion") and details:
            header = answers.criterion_answer(lang, slots["criterion"], details)
        else:
            header = "对比结果：" if lang == "zh" else "Here is how they compare:"
        return header, templates.compare_body(lang, output), cards
    if intent == "product_details":
        header = ""
        if slots.get("criterion"):
            header = answers.single_criterion_answer(lang, slots["criterion"], output)
        elif slots.get("yes_no"):
            header = answers.yes_no_answer(lang, slots["yes_no"], output)
        return header, templates.details_body(lang, output), [templates.card_of(output["product"])]
    if intent == "reviews":
        details = [r["output"] for r in runs if r["name"] == "get_product_details" and r.get("output")]
        if not details:
            return t("no_results", lang, budget=""), "", []
        header, body = answers.reviews_answer(lang, details)
        return header, body, [templates.card_of(d["product"]) for d in details]
    if intent == "order_status":
        header = "您的订单状态：" if lang == "zh" else "Your order status:"
        return header, templates.orders_body(lang, output), []
    if intent == "my_history":
        return "", templates.history_body(lang, output), []
    if intent == "value_explain":
        return "", templates.value_body(lang, output), []
    return t("fallback", lang), "", []


def wants_lead(turn: dict[str, Any]) -> bool:
    """An LLM lead-in only where code has not already answered the question (criterion, yes/no)."""
    slots = turn.get("slots") or {}
    answered = turn["intent"] in ("compare", "product_details") and (
        slots.get("criterion") or slots.get("yes_no")
    )
    answered = answered or bool(turn.get("not_carried"))  # the header already says the shop lacks the thing
    return turn["intent"] in LEAD_INTENTS and not turn.get("clarify") and not answered


_ORDER_WORDS = {  # how the tool ordered the list shown (agent.guided.planner sorts a price ask by price)
    "low_first": ("cheapest first", "按价格从低到高"),
    "high_first": ("priciest first", "按价格从高到低"),
    None: ("best match first", "最匹配的在前"),
}


def lead_facts(turn: dict[str, Any], cards: list[ProductCard]) -> str:
    """What the opening may speak of, in the shopper's words: the kind and number of products shown and their
    order. No titles, prices or ratings: the opening must not name them (code renders them under it), and every
    fact left out is one token less to read and one claim less to get wrong."""
    zh = turn["language"] == "zh"
    slots = turn.get("slots") or {}
    kinds = "、".join if zh else ", ".join
    category = kinds(list(dict.fromkeys(c.category for c in cards if c.category))[:2]) or (
        "商品" if zh else "products"
    )
    if turn["intent"] == "compare":
        return f"对比：{len(cards)}件{category}" if zh else f"Comparing: {len(cards)} × {category}"
    order = _ORDER_WORDS[slots.get("price_sort")][1 if zh else 0]
    budget = ("，都在预算内" if zh else ", all within the budget") if slots.get("budget_max") else ""
    return (
        f"展示：{len(cards)}件{category}，{order}{budget}"
        if zh
        else f"Shown: {len(cards)} × {category}, {order}{budget}"
    )


class Lead(BaseModel):
    """The lead's schema: one opening sentence. The product to highlight and the reasons are chosen by code
    (the shopper's named brand, else the tool's top-ranked product; only reasons the facts back): the small
    model picked the cheapest product for a premium shopper and a Bose for a question about a Sony."""

    # No maxLength: llama.cpp compiles a bounded repetition into nested grammar rules whose parse stacks grew
    # the server past 12 GB in the agent suite; max_tokens bounds it and fit_opening below.
    opening: str = Field(min_length=2)


def fit_opening(text: str, lang: str) -> str:
    """The opening within its bound, never a fragment: whole when it fits (the JSON string closed, so the
    sentence ended; an end mark is added if missing), else its leading complete sentences that fit. A first
    sentence longer than the bound comes back whole, for the length check to reject."""
    text = text.strip()
    limit = OPENING_MAX_CHARS[lang]
    if len(text) <= limit:
        return text if text[-1:] in _SENTENCE_ENDS else text + ("。" if lang == "zh" else ".")
    kept = ""
    for sentence in (x.strip() for x in split_sentences(text)):
        joined = kept + ("" if lang == "zh" or not kept else " ") + sentence
        if sentence[-1:] not in _SENTENCE_ENDS or len(joined) > limit:
            break
        kept = joined
    return kept or text


def length_failures(text: str, lang: str) -> list[Failure]:
    limit = OPENING_MAX_CHARS[lang]
    return [Failure(check="length", claim=f"over {limit} characters")] if len(text) > limit else []


def pick_highlight(turn: dict[str, Any], shown: list[ProductCard]) -> ProductCard:
    brand = ((turn.get("slots") or {}).get("brand") or "").lower()
    return next((c for c in shown if brand and c.brand.lower() == brand), shown[0])


def highlight_reasons(turn: dict[str, Any]) -> list[str]:
    """Reason codes in the order the request makes them matter (templates.true_reasons keeps the true ones)."""
    if (turn.get("slots") or {}).get("price_sort") == "low_first":
        return ["lowest_price", "on_promotion", "within_budget", "highly_rated"]
    return ["best_rated", "on_promotion", "within_budget", "highly_rated"]


class LeadResult(BaseModel):
    text: str | None  # opening + highlight, ready to show; None = the template header
    outcome: Outcome
    sentences: int = 0


def llm_lead(
    settings: Settings,
    turn: dict[str, Any],
    cards: list[ProductCard],
    catalog: Catalog,
    evidence: Evidence,
    masker: Any,
    summary: str = "",
) -> LeadResult:
    """A structured lead-in from the LLM: its opening sentence must pass the faithfulness check (one retry with
    the failed claims fed back); the highlight sentence is rendered by code from the facts."""
    lang = turn["language"]
    shown = cards[:LEAD_PRODUCTS]
    prompt = reply_messages(lang, turn["text"], lead_facts(turn, shown), summary)

    def write(failures: list[Failure]) -> str | None:
        messages = [*prompt, ("user", feedback_text(failures, lang))] if failures else prompt
        lead = invoke_structured(settings, messages, Lead, masker=masker, retries=0, max_tokens=LEAD_TOKENS)
        return None if lead is None else fit_opening(mask_output(clean_markup(lead.opening)), lang)

    def check(text: str) -> list[Failure]:
        return length_failures(text, lang) + check_reply(text, evidence, lang, catalog, lead=True)

    checked = generate_faithful(write, check, where="guided lead")
    if checked.text is None:
        return LeadResult(text=None, outcome="template", sentences=checked.sentences)
    card = pick_highlight(turn, shown)
    opening = checked.text + ("" if lang == "zh" else " ")
    budget = turn["slots"].get("budget_max")
    reasons = templates.true_reasons(card, shown, highlight_reasons(turn), budget)
    if "best_rated" in reasons:  # "the best rated here (★4.8)" already says "rated ★4.8"
        reasons = [r for r in reasons if r != "highly_rated"]
    return LeadResult(
        text=opening + templates.highlight(lang, card, shown, reasons[:2], budget),
        outcome=checked.outcome,
        sentences=checked.sentences,
    )
