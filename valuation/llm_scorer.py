"""The starting method, kept as a baseline and a feature: an LLM reads a compact history summary and returns a
rubric-based 0-100 value score. Summaries hold no PII (counts, amounts, categories) and are masked anyway.

``history_summary`` builds the text from a user's feature row (the same text the fine-tuning export uses);
``score_users(settings, summaries)`` returns ``{user_id: score or None}`` (None: no LLM, or invalid output
after the retries), cached by prompt hash in ``llm_cache``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import pandas as pd
from pydantic import BaseModel, Field

from domain.models import Segment
from domain.settings import Settings
from domain.store.db import get_engine
from llm.masking import new_masker
from llm.structured import invoke_structured
from valuation.profile import cache_get, cache_key, cache_put

log = logging.getLogger(__name__)

PROMPT_VERSION = "scorer-v1"

RUBRIC = (
    "You rate how valuable a shop customer will be over the next 12 months, 0-100.\n"
    "Rubric:\n"
    "- 85-100: buys often (5+ orders), recently (last 60 days), spends well above average, premium items.\n"
    "- 60-84: several orders, bought in the last 90 days, steady or rising spend.\n"
    "- 35-59: a few orders, or good history but slowing; or new with a strong first order.\n"
    "- 15-34: one small order, or long gaps, mostly discounted budget items.\n"
    "- 0-14: no order, or nothing for over a year.\n"
    "Segment: vip, loyal, promising, price_sensitive, at_risk or lapsed.\n"
    'Reply with JSON only: {"score": <0-100 integer>, "segment": "<segment>", "why": "<max 12 words>"}'
)


class LlmScoreReply(BaseModel):
    score: int = Field(ge=0, le=100)
    segment: Segment
    why: str = Field(default="", max_length=120)


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _num(row: pd.Series, name: str, default: float = 0.0) -> float:
    value = row.get(name, default)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(value) else value


def history_summary(row: pd.Series, categories: list[str] | None = None) -> str:
    """A compact English summary of one user's feature row (transaction + behaviour features), amounts in CNY."""
    n_days = int(_num(row, "n_purchase_days"))
    lines: list[str] = []
    if n_days == 0:
        lines.append("Orders: none yet.")
    else:
        lines.append(
            f"Orders: {int(_num(row, 'n_orders', n_days))} on {n_days} days over {int(_num(row, 'tenure_days'))} "
            f"days as a customer; last order {int(_num(row, 'days_since_last'))} days ago."
        )
        lines.append(
            f"Spend: total {_money(_num(row, 'total_spend'))}, average order {_money(_num(row, 'avg_order_value'))}, "
            f"last 90 days {_money(_num(row, 'spend_last_90d'))}, last 365 days {_money(_num(row, 'spend_last_365d'))}."
        )
        tier = _num(row, "price_tier_mean", float("nan"))
        tier_txt = (
            "unknown" if math.isnan(tier) else ("budget", "mid", "premium", "luxury")[min(3, round(tier))]
        )
        lines.append(
            f"Typical price tier: {tier_txt}; discounted lines {100 * _num(row, 'discounted_line_share'):.0f}%; "
            f"returns {100 * _num(row, 'return_share'):.0f}%."
        )
    if categories:
        lines.append("Categories: " + ", ".join(categories[:5]) + ".")
    lines.append(
        f"Last 30 days: {int(_num(row, 'events_last_30d'))} site events, {int(_num(row, 'carts_last_30d'))} "
        f"add-to-cart; searches {int(_num(row, 'n_searches'))} in total."
    )
    n_rev = int(_num(row, "n_reviews"))
    if n_rev:
        lines.append(
            f"Reviews: {n_rev}, average rating {_num(row, 'avg_rating'):.1f}/5, "
            f"complaints {100 * _num(row, 'complaint_share'):.0f}%."
        )
    return "\n".join(lines)


def score_users(settings: Settings, summaries: Mapping[str, str]) -> dict[str, float | None]:
    """Rubric scores for the given ``{user_id: summary}``; None per user when the LLM gives no valid answer."""
    if settings.llm == "none":
        return dict.fromkeys(summaries)

    engine = get_engine(settings)
    out: dict[str, float | None] = {}
    for user_id, summary in summaries.items():
        masker = new_masker()
        text = masker.mask(summary)
        key = cache_key(PROMPT_VERSION, settings, text)
        cached = cache_get(engine, key)
        if cached is not None:
            out[user_id] = float(cached["score"])
            continue
        reply = invoke_structured(
            settings, [("system", RUBRIC), ("user", text)], LlmScoreReply, masker=masker, max_tokens=80
        )
        if reply is None:
            out[user_id] = None
            continue
        out[user_id] = float(reply.score)
        cache_put(engine, key, "score", user_id, reply.model_dump(mode="json"))
    return out
