"""Guided mode, step 3: the reply. Code renders the facts (product lists, orders, scores) from tool outputs; an
LLM, when there is one, only fills a small schema (an opening sentence, the product to highlight, reason codes).
The opening passes the faithfulness check before it is shown; the highlight and every number are rendered by
code."""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from agent.events import ProductCard
from agent.guided import answers, templates
from agent.guided.prompts import reply_messages
from agent.guided.templates import REASON_CODES
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

_CJK_RE = re.compile(r"[\u4e00-\u9fff]")
LEAD_INTENTS = ("recommend", "search", "compare", "product_details")
LEAD_PRODUCTS = 5
OPENING_MAX_CHARS = 90
LEAD_TOKENS = 110


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
    answered = turn["intent"] in ("compare", "product_details") and (slots.get("criterion") or slots.get("yes_no"))
    return turn["intent"] in LEAD_INTENTS and not turn.get("clarify") and not answered


def lead_facts(turn: dict[str, Any], cards: list[ProductCard]) -> dict[str, Any]:
    """The facts the model may use (exact prices: it is told not to write numbers, code renders them)."""
    slots = turn["slots"]
    facts: dict[str, Any] = {
        "products": [
            {"id": c.product_id, "title": c.title, "brand": c.brand, "price": c.price, "rating": c.rating,
             **({"on_sale": True} if c.on_promotion else {})}
            for c in cards[:LEAD_PRODUCTS]
        ]
    }  # fmt: skip
    if slots.get("budget_max"):
        facts["budget_max"] = slots["budget_max"]
    if turn["intent"] == "compare":
        facts["facts"] = [
            templates.plain(s) for s in (turn["tool_runs"][-1]["output"] or {}).get("summary", [])
        ][:3]
    return facts


def lead_schema(product_ids: list[str]) -> type[BaseModel]:
    """The lead's JSON schema: a bounded opening sentence, the highlighted product as an enum of the shown
    ids, and reason codes from a closed list (the small model cannot name anything else)."""
    # No maxLength on the opening: llama.cpp compiles a bounded repetition into nested grammar rules whose
    # parse stacks grew the server past 12 GB in the agent suite; max_tokens bounds it, code cuts it below.
    return create_model(
        "Lead",
        opening=(str, Field(min_length=2)),
        highlight_id=(Literal[tuple(product_ids)], ...),  # type: ignore[valid-type]
        reasons=(list[Literal[REASON_CODES]], Field(default_factory=list, max_length=2)),  # type: ignore[valid-type]
    )


def complete_sentences(text: str) -> str:
    """The opening without a trailing fragment (a bounded string can stop mid-sentence); kept whole when it
    has no sentence end at all."""
    sentences = [x.strip() for x in split_sentences(text.strip())]
    complete = [x for x in sentences if x[-1:] in (".", "!", "?", "。", "！", "？")]
    if not complete:
        return text.strip()
    return ("" if _CJK_RE.search(text) else " ").join(complete)


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
    schema = lead_schema([c.product_id for c in shown])
    prompt = reply_messages(lang, turn["text"], lead_facts(turn, cards), summary)
    leads: list[Any] = []

    def write(failures: list[Failure]) -> str | None:
        messages = [*prompt, ("user", feedback_text(failures, lang))] if failures else prompt
        lead = invoke_structured(settings, messages, schema, masker=masker, retries=0, max_tokens=LEAD_TOKENS)
        if lead is None:
            return None
        leads.append(lead)
        return complete_sentences(mask_output(clean_markup(lead.opening))[:OPENING_MAX_CHARS])

    checked = generate_faithful(write, lambda t: check_reply(t, evidence, lang, catalog), where="guided lead")
    if checked.text is None:
        return LeadResult(text=None, outcome="template", sentences=checked.sentences)
    lead = leads[-1]
    card = next(c for c in shown if c.product_id == lead.highlight_id)
    opening = checked.text + ("" if lang == "zh" or checked.text.endswith(" ") else " ")
    return LeadResult(
        text=opening + templates.highlight(lang, card, shown, lead.reasons, turn["slots"].get("budget_max")),
        outcome=checked.outcome,
        sentences=checked.sentences,
    )
