"""Guided mode, steps 1-2: understand the message (intent, slots, references) and let code pick the tools."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from agent.guided.answers import SOLD_HERE_RE
from agent.guided.intent import IntentResult, classify
from agent.guided.slots import Slots, only_category
from agent.toolbox import Toolbox, ToolRun, collect_product_ids
from agent.vocabulary import Catalog
from domain.i18n import detect_language
from domain.privacy.access import Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import orders, users

_FOLLOW_UP_RE = re.compile(
    r"\b(?:cheaper|more|other|another|else|similar|instead|also|what about|how about|any)\b|便宜|更|其他|别的|还有|类似|换|那.{0,3}呢",
    re.I,
)
_USER_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z]{1,4}\d{3,}(?![A-Za-z0-9_])")
_WANTS_SUGGESTION_RE = re.compile(r"recommend|suggest|something|推荐|买点|有什么好", re.I)
PRODUCT_INTENTS = ("recommend", "search")
LIST_SIZE = 5
# A price-ordered list: the cheapest (priciest) LIST_SIZE of the need's PRICE_POOL best matches.
PRICE_POOL = 12
REVIEWED_PRODUCTS = 3  # "what do customers say about your coffee machines": the reviews of the top matches


def known_user_ids(settings: Settings, text: str) -> set[str]:
    """The user ids named in a staff message that exist in the store (one indexed lookup, not a table scan)."""
    tokens = [t for t in _USER_TOKEN_RE.findall(text)]
    if not tokens:
        return set()
    with get_engine(settings).connect() as conn:
        rows = conn.execute(select(users.c.user_id).where(users.c.user_id.in_(tokens))).all()
    return {r[0] for r in rows}


def has_history(settings: Settings, user_id: str | None) -> bool:
    if not user_id:
        return False
    with get_engine(settings).connect() as conn:
        return (
            conn.execute(select(orders.c.order_id).where(orders.c.user_id == user_id).limit(1)).first()
            is not None
        )


_PAIR_RE = re.compile(r"\b(?:two|both|this and that|these two|those two)\b|两|这个和那个", re.I)


def resolve_refs(slots: Slots, shown: list[str], intent: str, text: str = "") -> list[str]:
    """Product ids the message points at: explicit ids, then "the first one"/"第二个" in the last list shown,
    then for a comparison "those two"/"这两款" (the first two shown) or "which of them" (all shown, up to 4),
    else "it"/"这款" (the first shown)."""
    refs = list(slots.product_ids)
    for position in slots.ordinals:
        index = len(shown) - 1 if position == -1 else position - 1
        if 0 <= index < len(shown):
            refs.append(shown[index])
    if not refs and (slots.demonstratives or intent == "compare") and shown:
        wanted = 1 if intent != "compare" else 2 if _PAIR_RE.search(text) else 4
        refs = shown[:wanted]
    return list(dict.fromkeys(refs))


def relative_budgets(
    relative: str, prices: list[float], lo: float | None, hi: float | None
) -> list[tuple[float | None, float | None]]:
    """Budgets to try, in order, for "cheaper"/"more premium" relative to the prices shown (same need): first
    beyond every product shown, then beyond the cheapest/priciest one, then the need's own budget."""
    if relative == "cheaper":
        return [(None, round(min(prices) - 0.01, 2)), (None, round(max(prices) - 0.01, 2)), (lo, hi)]
    if relative == "pricier":
        return [(round(max(prices) + 0.01, 2), None), (round(min(prices) + 0.01, 2), None), (lo, hi)]
    return [(lo, hi)]


def order_by_price(run: ToolRun, sort: str) -> None:
    """The tool's matches ordered by price, the first LIST_SIZE kept ("便宜一点的跑鞋", "high-end headphones")."""
    products = (run.output or {}).get("products")
    if not isinstance(products, list):
        return
    ordered = sorted(products, key=lambda p: float(p.get("price") or 0.0), reverse=sort == "high_first")
    run.output = {**(run.output or {}), "products": ordered[:LIST_SIZE]}
    run.product_ids = collect_product_ids(run.output)


def understand(
    settings: Settings,
    text: str,
    state: dict[str, Any],
    catalog: Catalog,
    principal: Principal,
    *,
    use_llm: bool,
    masker: Any,
) -> dict[str, Any]:
    language = detect_language(text, default=state.get("language") or "en")
    shown = list(state.get("shown_products") or [])
    last = dict(state.get("last_slots") or {})
    named_ids = known_user_ids(settings, text)
    staff_ids = named_ids if principal.is_staff else None
    hint = state.get("summary") or (f"category={last.get('category')}" if last.get("category") else "")
    result: IntentResult = classify(
        settings, text, catalog,
        is_staff=principal.is_staff, has_shown_products=bool(shown), known_user_ids=staff_ids,
        use_llm=use_llm, history_hint=hint, masker=masker,
    )  # fmt: skip
    slots = result.slots
    intent = result.intent
    if principal.is_staff and not slots.target_user_id and last.get("target_user_id"):
        slots.target_user_id = last["target_user_id"]
    follow_up = bool(_FOLLOW_UP_RE.search(text)) or (
        len(text) < 40 and (slots.budget_max or slots.budget_min or slots.price_preference)
    )
    if (
        follow_up
        and result.source != "rules"
        and not slots.category
        and last.get("intent") in PRODUCT_INTENTS
    ):
        intent = last["intent"]  # "cheaper ones?" / "300以内的呢" continue the last search
    ladder: list[tuple[float | None, float | None]] = []
    if intent in PRODUCT_INTENTS and follow_up:
        if not slots.category and last.get("query"):
            slots.query = last["query"]  # the need stays the one that was shown
        slots.category = slots.category or last.get("category")
        if slots.budget_max is None and slots.budget_min is None:
            slots.budget_min, slots.budget_max = last.get("budget_min"), last.get("budget_max")
            prices = [catalog.prices[p] for p in shown if p in catalog.prices]
            relative = slots.relative or ("cheaper" if slots.price_preference == "low" else None)
            if relative and prices:
                ladder = relative_budgets(relative, prices, slots.budget_min, slots.budget_max)
                slots.budget_min, slots.budget_max = ladder[0]
            if relative == "bigger":
                slots.query = f"{slots.query} large bigger 大号 大容量"
    slots.only_category = only_category(slots.query or text, catalog, slots.category)
    refs = resolve_refs(slots, shown, intent, text)
    if intent == "ambiguous" and (slots.category or slots.brand):
        intent = "recommend"
    elif (
        intent == "ambiguous"
        and _WANTS_SUGGESTION_RE.search(text)
        and has_history(settings, principal.user_id)
    ):
        intent = "recommend"  # "recommend something" from a shopper with a history: personalise, don't ask
    direct = intent if intent in ("greeting", "off_topic", "injection", "unsupported", "not_sold") else None
    if not principal.is_staff and named_ids - {principal.user_id}:
        direct = "access_denied"  # a shopper asking about someone else: refuse before any tool runs
    return {
        "intent": intent,
        "intent_source": result.source,
        "confidence": result.confidence,
        "language": language,
        "slots": slots.model_dump(),
        "refs": refs,
        "text": text,
        "direct": direct,
        "budget_ladder": ladder[1:],
        "not_carried": not_carried(text, intent, catalog),
    }


# "my last order" / "最近一笔订单" asks for one order: the latest, not the last three.
_ONE_ORDER_RE = re.compile(
    r"\b(?:my|the) (?:last|latest|most recent|newest) (?:order|package|parcel)\b|"
    r"(?:最近|最新|上)一(?:笔|个|单)|上个订单|最近的订单",
    re.I,
)


def not_carried(text: str, intent: str, catalog: Catalog) -> str | None:
    """The thing a "do you have X?" question asks for when no product name in the shop contains it ("coffee
    machines" in a shop with coffee but no machine), so that the reply says so before listing the closest
    products instead of presenting coffee beans as the answer."""
    asked = SOLD_HERE_RE.search(text)
    if intent not in PRODUCT_INTENTS or asked is None:
        return None
    phrase = re.sub(r"[?？!！。.,，]+", " ", text[asked.end() :]).strip()
    phrase = re.sub(r"^(?:any|some)\s+|(?:吗|呢|么)$", "", phrase, flags=re.I).strip()
    return phrase if phrase and catalog.missing_from_names(phrase) else None


def act(
    toolbox: Toolbox, turn: dict[str, Any], principal: Principal, member_levels: bool = False
) -> dict[str, Any]:
    """Run the tools for the intent. Returns the turn updated with ``tool_runs`` and, if needed, ``clarify``."""
    intent, lang, refs = turn["intent"], turn["language"], turn["refs"]
    slots = Slots.model_validate(turn["slots"])
    target = slots.target_user_id if principal.is_staff else None
    text = turn["text"]
    clarify: str | None = None
    if intent == "product_details" and not refs and slots.brand:
        # "Is the Sony headphone good for travel?" names a product nobody showed yet: find it first
        found = toolbox.run("search_products", query=slots.query or text, k=PRICE_POOL, category=slots.category,
                            language=lang)  # fmt: skip
        refs = [p["product_id"] for p in (found.output or {}).get("products", [])
                if str(p.get("brand", "")).lower() == slots.brand.lower()][:1]  # fmt: skip
        if not refs:  # no such product: the best matches of the need answer instead
            intent = "search"
    if intent in PRODUCT_INTENTS:
        query = slots.query or text
        if intent == "recommend" and slots.only_category:
            query = ""  # the whole category, ranked for the shopper (slots.only_category)
        k = PRICE_POOL if slots.price_sort else LIST_SIZE
        for lo, hi in [(slots.budget_min, slots.budget_max), *turn.get("budget_ladder", [])]:
            if intent == "recommend":
                run = toolbox.run(
                    "recommend_products", user_id=target, query=query, k=k, min_price=lo, max_price=hi,
                    category=slots.category, language=lang,
                )  # fmt: skip
            else:
                run = toolbox.run(
                    "search_products", query=query, k=k, min_price=lo, max_price=hi,
                    category=slots.category, language=lang,
                )  # fmt: skip
            if run.product_ids or run.error:
                break
        if slots.price_sort:
            order_by_price(run, slots.price_sort)
    elif intent == "reviews":
        found = toolbox.run("search_products", query=slots.query or text, k=REVIEWED_PRODUCTS,
                            category=slots.category, language=lang)  # fmt: skip
        for pid in found.product_ids[:REVIEWED_PRODUCTS]:
            toolbox.run("get_product_details", product_id=pid, language=lang, n_reviews=5)
    elif intent == "compare":
        if len(refs) >= 2:
            toolbox.run("compare_products", product_ids=refs[:4], language=lang)
            if slots.criterion:  # "which suits a student": the descriptions decide
                for pid in refs[:4]:
                    toolbox.run("get_product_details", product_id=pid, language=lang, n_reviews=0)
        else:
            clarify = "clarify_compare"
    elif intent == "product_details":
        if refs:
            toolbox.run("get_product_details", product_id=refs[0], language=lang)
        else:
            clarify = "clarify_product"
    elif intent == "order_status":
        if principal.is_staff and not target:
            clarify = "staff_only_user" if not slots.order_id else None
        if clarify is None:
            limit = 1 if _ONE_ORDER_RE.search(text) else 3
            toolbox.run(
                "get_order_status", user_id=target, order_id=slots.order_id, limit=limit, language=lang
            )
    elif intent == "my_history":
        if principal.is_staff and not target:
            clarify = "staff_only_user"
        else:
            toolbox.run("get_user_history", user_id=target, query=text, limit=5, language=lang)
    elif intent == "value_explain":
        if not target:
            clarify = "staff_only_user"
        else:
            toolbox.run("assess_user_value", user_id=target, language=lang)
    elif intent == "member_level":
        if member_levels:  # only a shop that configured levels reads the segment at all
            toolbox.run("get_user_profile", language=lang)
    elif intent == "ambiguous":
        clarify = "clarify"
    turn = dict(turn)
    turn.update(intent=intent, refs=refs)
    turn["clarify"] = clarify
    turn["tool_runs"] = [run.model_dump() for run in toolbox.runs]
    return turn
