"""Guided mode, step 3: the reply. Code renders the facts (product lists, orders, scores) from tool outputs; an
LLM, when there is one, only writes a one- or two-sentence lead-in from those facts. The lead-in is streamed
sentence by sentence, and each sentence passes the grounding/leak guard and the language check first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from agent.events import ProductCard
from agent.guided import templates
from agent.guided.prompts import reply_messages
from agent.guided.slots import detect_language
from agent.middleware.guards import (
    clean_markup,
    drop_ungrounded,
    mask_output,
    numbers_grounded,
    split_sentences,
)
from agent.vocabulary import Catalog
from domain.i18n import t
from domain.settings import Settings
from llm import get_chat_model
from llm.structured import mask_messages

log = logging.getLogger(__name__)

Emit = Callable[[str], None]
LEAD_INTENTS = ("recommend", "search", "compare", "product_details")


def _examples(catalog: Catalog, lang: str) -> str:
    cats = list(catalog.categories.items())[:3]
    if lang == "zh":
        return "、".join(zh or slug for slug, (_, zh) in cats) or "耳机、咖啡、跑步鞋"
    return ", ".join(words for _, (words, _) in cats) or "headphones, coffee, running shoes"


def compose_body(turn: dict[str, Any], catalog: Catalog) -> tuple[str, str, list[ProductCard]]:
    """``(header, body, cards)`` rendered from the tool outputs of the turn (no LLM)."""
    lang, intent = turn["language"], turn["intent"]
    if turn.get("clarify"):
        key = turn["clarify"]
        return t(key, lang, examples=_examples(catalog, lang)), "", []
    if turn.get("direct"):
        return t(turn["direct"], lang), "", []
    runs = turn.get("tool_runs") or []
    if not runs:
        return t("clarify", lang, examples=_examples(catalog, lang)), "", []
    run = runs[-1]
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
        body = "\n".join(templates.product_line(lang, i, c) for i, c in enumerate(cards, 1))
        return header, body, cards
    if intent == "compare":
        cards = [templates.card_of(p) for p in output.get("products", [])]
        header = "对比结果：" if lang == "zh" else "Here is how they compare:"
        return header, templates.compare_body(lang, output), cards
    if intent == "product_details":
        return "", templates.details_body(lang, output), [templates.card_of(output["product"])]
    if intent == "order_status":
        header = "您的订单状态：" if lang == "zh" else "Your order status:"
        return header, templates.orders_body(lang, output), []
    if intent == "my_history":
        return "", templates.history_body(lang, output), []
    if intent == "value_explain":
        return "", templates.value_body(lang, output), []
    return t("fallback", lang), "", []


def lead_facts(turn: dict[str, Any], cards: list[ProductCard]) -> dict[str, Any]:
    slots = turn["slots"]
    facts: dict[str, Any] = {
        "products": [
            {
                "no": i,
                "title": c.title,
                "price": round(c.price),
                **({"why": c.reason[:60]} if c.reason else {}),
            }
            for i, c in enumerate(cards[:3], 1)
        ]
    }
    if slots.get("budget_max"):
        facts["budget_max"] = slots["budget_max"]
    if turn["intent"] == "compare":
        facts["facts"] = [
            templates.plain(s) for s in (turn["tool_runs"][-1]["output"] or {}).get("summary", [])
        ][:3]
    return facts


def llm_lead(
    settings: Settings,
    turn: dict[str, Any],
    cards: list[ProductCard],
    catalog: Catalog,
    grounded: list[str],
    allowed_refs: set[str],
    masker: Any,
    emit: Emit,
    summary: str = "",
) -> str | None:
    """Stream a grounded lead-in from the LLM; None when the model is unavailable or wrote nothing usable."""

    lang = turn["language"]
    prompt = reply_messages(lang, turn["text"], lead_facts(turn, cards), summary)
    source = "\n".join(text for _, text in prompt) + "\n" + "\n".join(f"{c.title} {c.price}" for c in cards)
    messages = mask_messages(prompt, masker)
    try:
        model = get_chat_model(settings, temperature=0.3, max_tokens=90, streaming=True)
        if model is None:
            return None
        kept: list[str] = []
        buffer = ""
        for chunk in model.stream(messages):
            buffer += chunk.content if isinstance(chunk.content, str) else ""
            sentences = split_sentences(buffer)
            if len(sentences) > 1:  # all but the last are complete
                for sentence in sentences[:-1]:
                    if good := _accept(sentence, lang, catalog, grounded, allowed_refs, source):
                        kept.append(good)
                        emit(good)
                buffer = sentences[-1]
            if len(kept) >= 2:
                break
        if (
            buffer.strip()
            and len(kept) < 2
            and (good := _accept(buffer, lang, catalog, grounded, allowed_refs, source))
        ):
            kept.append(good)
            emit(good)
    except Exception as exc:  # provider error mid-turn: the template header takes over
        log.warning("LLM lead-in failed: %s", exc)
        return "".join(kept) if "kept" in locals() and kept else None
    return "".join(kept) or None


def _accept(
    sentence: str, lang: str, catalog: Catalog, grounded: list[str], allowed: set[str], source: str
) -> str | None:
    sentence = mask_output(clean_markup(sentence)).strip()
    if not sentence or detect_language(sentence, default=lang) != lang:
        return None
    if not numbers_grounded(sentence, source):  # an invented price, a "$", or talk about its own prompt
        return None
    kept, _ = drop_ungrounded(sentence, catalog, grounded, allowed)
    if not kept:
        return None
    return kept + ("" if lang == "zh" else " ")
