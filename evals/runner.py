"""Runs the scripted multi-turn scenarios through ``ChatService`` and scores every turn.

Checks per turn: tool trajectory (superset / subset / any-of), grounding (every product carded or named in the
reply was returned by a tool in the conversation), leaks (no other user's ids), reply language, budget and
category respected, clarifying questions, required / forbidden text. Per pair of scenarios: the premium
shopper's recommendations are priced above the bargain hunter's for the same request (median card price).
Reports the pass rate and pass^k (a scenario passes^k when all k repeats pass).
"""

from __future__ import annotations

import json
import re
import statistics
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent.middleware.guards import check_text
from agent.service import ChatResult, ChatService
from agent.vocabulary import Catalog, get_catalog
from domain.i18n import detect_language
from domain.models import Language
from domain.privacy.access import Principal
from domain.settings import Settings
from domain.store.db import get_engine
from domain.store.schema import orders
from evals.fixtures import Personas


class TurnExpect(BaseModel):
    tools_superset: list[str] = Field(default_factory=list)  # all of these must be called
    tools_subset: list[str] | None = None  # calls only from this set ([] = no tool at all)
    tools_any: list[str] = Field(default_factory=list)  # at least one of these
    min_products: int = 0
    max_products: int | None = None
    budget_max: float | None = None
    budget_min: float | None = None
    category: str | None = None
    clarify: bool = False
    cheapest_first: bool = False  # the cards are ordered by ascending price ("便宜一点的跑鞋")
    first_brand: str | None = None  # the first card is this brand (a question about a named product)
    contains_all: list[str] = Field(default_factory=list)
    contains_any: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)
    # "answered the question": the reply says one of these (and none of answer_not); counted apart
    answer_any: list[str] = Field(default_factory=list)
    answer_not: list[str] = Field(default_factory=list)


class Turn(BaseModel):
    say: str
    expect: TurnExpect = Field(default_factory=TurnExpect)


class Scenario(BaseModel):
    id: str
    lang: Language
    persona: Literal["premium", "bargain", "regular", "staff"]
    tags: list[str] = Field(default_factory=list)
    pair: str | None = None
    turns: list[Turn]


class TurnResult(BaseModel):
    say: str
    reply: str
    tools: list[str]
    product_ids: list[str]
    prices: list[float]
    failures: list[str]
    ungrounded: list[str]
    seconds: float
    first_token_s: float | None = None
    llm_used: str | None = None  # guided: "intent", "lead", "intent+lead" or None (templates only)
    fallback_from: str | None = None  # "react" when the react turn failed and the guided mode answered
    faithfulness: dict[str, Any] | None = None  # the LLM text's outcome: first_try | regenerated | template
    answered: bool | None = None  # None: the turn has no "answered the question" expectation


class ScenarioRun(BaseModel):
    scenario: str
    repeat: int
    passed: bool
    turns: list[TurnResult]


def load_scenarios(path: Path | None = None) -> list[Scenario]:
    text = path.read_text(encoding="utf-8") if path else (
        resources.files("evals").joinpath("scenarios.jsonl").read_text(encoding="utf-8")
    )  # fmt: skip
    return [Scenario.model_validate_json(line) for line in text.splitlines() if line.strip()]


def _fill(text: str, personas: Personas) -> str:
    return text.format(**personas.model_dump())


def principal_for(scenario: Scenario, personas: Personas) -> Principal:
    if scenario.persona == "staff":
        return Principal.staff("eval-staff")
    return Principal.shopper(getattr(personas, scenario.persona))


def check_turn(
    expect: TurnExpect, result: ChatResult, lang: str, catalog: Catalog, personas: Personas, allowed: set[str]
) -> tuple[list[str], list[str]]:
    """``(failures, ungrounded ids)`` of one turn."""
    failures: list[str] = []
    tools = [c.name for c in result.tool_calls]
    missing = [t for t in expect.tools_superset if t not in tools]
    if missing:
        failures.append(f"tools missing {missing} (called {tools})")
    if expect.tools_subset is not None and any(t not in expect.tools_subset for t in tools):
        failures.append(f"tools outside {expect.tools_subset}: {tools}")
    if expect.tools_any and not any(t in tools for t in expect.tools_any):
        failures.append(f"none of {expect.tools_any} called (called {tools})")
    grounded = set(result.grounded_ids)
    ungrounded = [pid for pid in result.product_ids if pid not in grounded]
    report = check_text(result.reply, catalog, grounded, allowed)
    ungrounded += report.ungrounded_ids + report.ungrounded_titles
    if ungrounded:
        failures.append(f"ungrounded products {ungrounded}")
    if report.leaked_ids:
        failures.append(f"foreign ids in reply {report.leaked_ids}")
    if detect_language(result.reply, default=lang) != lang:
        failures.append(f"reply language is not {lang}")
    if result.language != lang:
        failures.append(f"detected language {result.language} != {lang}")
    n = len(result.product_ids)
    if n < expect.min_products:
        failures.append(f"{n} products < {expect.min_products}")
    if expect.max_products is not None and n > expect.max_products:
        failures.append(f"{n} products > {expect.max_products}")
    prices = [p.price for p in result.products]
    if expect.budget_max is not None and any(p > expect.budget_max + 1e-6 for p in prices):
        failures.append(f"price above budget {expect.budget_max}: {prices}")
    if expect.budget_min is not None and any(p < expect.budget_min - 1e-6 for p in prices):
        failures.append(f"price below budget {expect.budget_min}: {prices}")
    if expect.category:
        wrong = [
            p.product_id
            for p in result.products
            if catalog_category(catalog, p.product_id) != expect.category
        ]
        if wrong:
            failures.append(f"products outside {expect.category}: {wrong}")
    if expect.cheapest_first and prices != sorted(prices):
        failures.append(f"cards not cheapest first: {prices}")
    if expect.first_brand and (not result.products or result.products[0].brand != expect.first_brand):
        failures.append(f"first card is not a {expect.first_brand}: {[p.brand for p in result.products[:1]]}")
    if expect.clarify and not ("?" in result.reply or "？" in result.reply):
        failures.append("expected a clarifying question")
    if expect.clarify and result.product_ids:
        failures.append("clarifying turn showed products")
    low = result.reply.lower()
    for needle in expect.contains_all:
        if _fill(needle, personas).lower() not in low:
            failures.append(f"reply lacks {_fill(needle, personas)!r}")
    if expect.contains_any and not any(_fill(n, personas).lower() in low for n in expect.contains_any):
        failures.append(f"reply lacks any of {expect.contains_any}")
    for needle in expect.must_not_contain:
        if _fill(needle, personas).lower() in low:
            failures.append(f"reply contains forbidden {_fill(needle, personas)!r}")
    failures += price_failures(result)
    if answered(expect, result.reply, personas) is False:
        failures.append(f"did not answer the question (expected one of {expect.answer_any})")
    return failures, ungrounded


_YUAN_RE = re.compile(r"[¥￥]\s*(\d[\d,]*(?:\.\d+)?)")


def price_failures(result: ChatResult) -> list[str]:
    """Every price is quoted to the cent: each listed product's exact price is in the reply, and no figure in
    the reply is a rounded version of a shown product's price (¥110 for ¥109.65)."""
    failures: list[str] = []
    figures = [float(x.replace(",", "")) for x in _YUAN_RE.findall(result.reply)]
    exact_prices = {round(card.price, 2) for card in result.products}
    for card in result.products:
        exact = f"¥{card.price:,.2f}"
        if card.title and card.title in result.reply and exact not in result.reply:
            failures.append(f"price of {card.product_id} not quoted exactly ({exact})")
        for figure in figures:
            if figure not in exact_prices and abs(figure - card.price) < 1.0:
                failures.append(f"price of {card.product_id} misquoted: ¥{figure:g} for {exact}")
    return failures


def answered(expect: TurnExpect, reply: str, personas: Personas) -> bool | None:
    if not expect.answer_any and not expect.answer_not:
        return None
    low = reply.lower()
    said = not expect.answer_any or any(_fill(n, personas).lower() in low for n in expect.answer_any)
    return said and not any(_fill(n, personas).lower() in low for n in expect.answer_not)


def catalog_category(catalog: Catalog, product_id: str) -> str | None:
    return catalog.product_categories.get(product_id)


def allowed_refs(settings: Settings, principal: Principal, personas: Personas) -> set[str]:
    """Ids a reply may name: the shopper's own user and order ids (staff: the personas they look up), plus
    the other user's order id that the scenario itself types (echoed in "no order X found")."""
    users = (
        [principal.user_id] if principal.user_id else [personas.premium, personas.bargain, personas.regular]
    )
    with get_engine(settings).connect() as conn:
        own_orders = (
            conn.execute(select(orders.c.order_id).where(orders.c.user_id.in_(users))).scalars().all()
        )
    return {x.lower() for x in [*users, *own_orders, personas.other_order]}


def run_suite(
    settings: Settings,
    personas: Personas,
    scenarios: list[Scenario],
    *,
    mode: str | None = None,
    repeats: int = 1,
    progress: Any = None,
) -> dict[str, Any]:
    service = ChatService(settings)
    catalog = get_catalog(settings)
    runs: list[ScenarioRun] = []
    try:
        for repeat in range(repeats):
            for scenario in scenarios:
                principal = principal_for(scenario, personas)
                allowed = allowed_refs(settings, principal, personas)
                thread = f"eval-{scenario.id}-{repeat}-{uuid.uuid4().hex[:8]}"
                turns: list[TurnResult] = []
                for turn in scenario.turns:
                    message = _fill(turn.say, personas)
                    started = time.perf_counter()
                    result = service.respond_sync(thread, message, principal, mode=mode)
                    seconds = time.perf_counter() - started
                    failures, ungrounded = check_turn(
                        turn.expect, result, scenario.lang, catalog, personas, allowed
                    )
                    turns.append(
                        TurnResult(
                            say=message, reply=result.reply, tools=[c.name for c in result.tool_calls],
                            product_ids=result.product_ids, prices=[p.price for p in result.products],
                            failures=failures, ungrounded=ungrounded, seconds=round(seconds, 3),
                            first_token_s=result.first_token_s,
                            llm_used="+".join(
                                k for k, v in (("intent", result.meta.get("intent_source") == "llm"),
                                               ("lead", result.meta.get("lead_source") == "llm")) if v
                            ) or None,
                            fallback_from=result.meta.get("fallback_from"),
                            faithfulness=result.meta.get("faithfulness"),
                            answered=answered(turn.expect, result.reply, personas),
                        )
                    )  # fmt: skip
                runs.append(
                    ScenarioRun(
                        scenario=scenario.id,
                        repeat=repeat,
                        passed=all(not t.failures for t in turns),
                        turns=turns,
                    )
                )
                if progress:
                    progress(runs[-1])
    finally:
        service.close()
    _apply_pair_checks(runs, scenarios)
    return summarise(runs, scenarios, repeats)


def _median_price(run: ScenarioRun) -> float | None:
    prices = [p for t in run.turns for p in t.prices]
    return statistics.median(prices) if prices else None


def _apply_pair_checks(runs: list[ScenarioRun], scenarios: list[Scenario]) -> None:
    """Premium vs bargain on the same request: the premium scenario fails if its median price is not higher."""
    by_id = {s.id: s for s in scenarios}
    for run in runs:
        scenario = by_id[run.scenario]
        if not scenario.pair or scenario.persona != "premium":
            continue
        partner = next(
            (r for r in runs if r.repeat == run.repeat and by_id[r.scenario].pair == scenario.pair and by_id[r.scenario].persona == "bargain"),
            None,
        )  # fmt: skip
        premium, bargain = _median_price(run), _median_price(partner) if partner else None
        if premium is None or bargain is None or premium <= bargain:
            run.turns[-1].failures.append(
                f"pair {scenario.pair}: premium median {premium} <= bargain median {bargain}"
            )
            run.passed = False


def summarise(runs: list[ScenarioRun], scenarios: list[Scenario], repeats: int) -> dict[str, Any]:
    by_scenario: dict[str, list[ScenarioRun]] = {}
    for run in runs:
        by_scenario.setdefault(run.scenario, []).append(run)
    tags: dict[str, list[bool]] = {}
    for scenario in scenarios:
        for tag in [*scenario.tags, scenario.lang]:
            tags.setdefault(tag, []).extend(r.passed for r in by_scenario.get(scenario.id, []))
    turn_seconds = [t.seconds for r in runs for t in r.turns]
    first_tokens = [t.first_token_s for r in runs for t in r.turns if t.first_token_s is not None]
    pairs = [r for r in runs if any(f.startswith("pair ") for t in r.turns for f in t.failures)]
    n_pairs = sum(1 for s in scenarios if s.pair and s.persona == "premium") * repeats
    return {
        "scenarios": len(scenarios),
        "repeats": repeats,
        "runs": len(runs),
        "pass_rate": round(sum(r.passed for r in runs) / max(1, len(runs)), 4),
        "pass_hat_k": round(
            sum(all(r.passed for r in rs) for rs in by_scenario.values()) / max(1, len(by_scenario)), 4
        ),
        "ungrounded_ids": sorted({pid for r in runs for t in r.turns for pid in t.ungrounded}),
        "ungrounded_count": sum(len(t.ungrounded) for r in runs for t in r.turns),
        "premium_above_bargain": f"{n_pairs - len(pairs)}/{n_pairs}",
        "turns": sum(len(r.turns) for r in runs),
        "turns_with_llm": sum(1 for r in runs for t in r.turns if t.llm_used),
        "turns_served_by_fallback": sum(1 for r in runs for t in r.turns if t.fallback_from),
        "turn_p50_s": round(statistics.median(turn_seconds), 3) if turn_seconds else None,
        "turn_p95_s": round(float(np.percentile(turn_seconds, 95, method="nearest")), 3)
        if turn_seconds
        else None,
        "first_token_p50_s": round(statistics.median(first_tokens), 3) if first_tokens else None,
        **faithfulness_rates(runs),
        "by_tag": {tag: round(sum(v) / len(v), 3) for tag, v in sorted(tags.items()) if v},
        "failures": [
            {
                "scenario": r.scenario,
                "repeat": r.repeat,
                "turn": i,
                "say": t.say,
                "failures": t.failures,
                "reply": t.reply[:300],
            }
            for r in runs
            for i, t in enumerate(r.turns)
            if t.failures
        ],
    }


def faithfulness_rates(runs: list[ScenarioRun]) -> dict[str, Any]:
    """Per LLM-written text (a guided lead-in, a react answer): passed the faithfulness check on the first try,
    after the one regeneration, or fell back to the template; and the "answered the question" rate."""
    outcomes = [t.faithfulness["outcome"] for r in runs for t in r.turns if t.faithfulness]
    graded = [t.answered for r in runs for t in r.turns if t.answered is not None]
    n = len(outcomes)
    return {
        "llm_texts": n,
        "llm_sentences": sum(
            t.faithfulness.get("sentences", 0) for r in runs for t in r.turns if t.faithfulness
        ),
        "first_try_faithful_rate": round(outcomes.count("first_try") / n, 4) if n else None,
        "regenerated_rate": round(outcomes.count("regenerated") / n, 4) if n else None,
        "template_fallback_rate": round(outcomes.count("template") / n, 4) if n else None,
        "answered_turns": len(graded),
        "answered_rate": round(sum(graded) / len(graded), 4) if graded else None,
    }


def dump(summary: dict[str, Any]) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2)
