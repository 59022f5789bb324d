"""Reasons and explanations: readable labels (en/zh) for every model feature, signed reasons from the model's own
contributions, and a short explanation in the user's language.

With an LLM the explanation is phrased by the model from the given numbers only: every number in its text must
appear in the input, otherwise (or with no LLM, or on any failure) the bilingual template is used.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Sequence
from typing import Protocol

from domain import i18n
from domain.models import Language, Reason, Segment, UserProfile
from domain.settings import Settings
from llm import get_chat_model
from llm.masking import new_masker
from llm.structured import mask_messages

log = logging.getLogger(__name__)

def feature_label(name: str) -> tuple[str, str]:
    """(English, Chinese) label of a feature (``domain.i18n``)."""
    return i18n.feature_label(name, "en"), i18n.feature_label(name, "zh")


def top_reasons(contributions: dict[str, float], values: dict[str, float], k: int = 5) -> list[Reason]:
    """The ``k`` largest contributions by absolute size (the bias term excluded), signed, with labels."""
    items = [(f, c) for f, c in contributions.items() if f not in ("bias", "expected_value") and c == c]
    items.sort(key=lambda fc: -abs(fc[1]))
    reasons = []
    for feature, contribution in items[:k]:
        en, zh = feature_label(feature)
        value = values.get(feature)
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        reasons.append(
            Reason(
                feature=feature,
                value=None if value is None else round(value, 3),
                contribution=round(float(contribution), 4),
                label_en=en,
                label_zh=zh,
            )
        )
    return reasons


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value - round(value)) < 1e-9 or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}"


class ReasonLike(Protocol):
    """What an explanation reads from a reason: a ``Reason``, or the batch's lighter named tuple."""

    @property
    def value(self) -> float | None: ...
    @property
    def contribution(self) -> float: ...
    @property
    def label_en(self) -> str: ...
    @property
    def label_zh(self) -> str: ...


def template_explanation(
    language: Language,
    score: float,
    segment: Segment,
    predicted_spend: float,
    reasons: Sequence[ReasonLike],
) -> str:
    """Two sentences from the numbers, no LLM."""
    seg_en, seg_zh = i18n.segment_label(segment, "en"), i18n.segment_label(segment, "zh")
    ups = [r for r in reasons if r.contribution > 0][:3]
    downs = [r for r in reasons if r.contribution < 0][:2]
    if language == "zh":
        parts = [f"价值评分 {score:.0f}/100（{seg_zh}），预计未来12个月消费 ¥{predicted_spend:,.0f}。"]
        if ups:
            parts.append("加分项：" + "、".join(f"{r.label_zh} {_fmt(r.value)}".strip() for r in ups) + "。")
        if downs:
            parts.append(
                "减分项：" + "、".join(f"{r.label_zh} {_fmt(r.value)}".strip() for r in downs) + "。"
            )
        return "".join(parts)
    parts = [f"Value score {score:.0f}/100 ({seg_en}); predicted 12-month spend ¥{predicted_spend:,.0f}."]
    if ups:
        parts.append("Raising it: " + ", ".join(f"{r.label_en} {_fmt(r.value)}".strip() for r in ups) + ".")
    if downs:
        parts.append(
            "Lowering it: " + ", ".join(f"{r.label_en} {_fmt(r.value)}".strip() for r in downs) + "."
        )
    return " ".join(parts)


_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _numbers(text: str) -> set[str]:
    """Numbers as normalised strings ("1,234.50" -> "1234.5"); both the value and its integer part count."""
    out: set[str] = set()
    for match in _NUMBER_RE.findall(text):
        raw = match.replace(",", "").rstrip(".")
        if not raw:
            continue
        value = float(raw)
        out.add(f"{value:g}")
        out.add(str(round(value)))
    return out


def numbers_are_grounded(text: str, source: str) -> bool:
    """True when every number in ``text`` also appears in ``source`` (12 in "12 months" counts as given)."""
    allowed = _numbers(source) | {"12", "0", "100", "1", "5"}
    found = {f"{float(m.replace(',', '').rstrip('.')):g}" for m in _NUMBER_RE.findall(text) if m.strip(",.")}
    return found <= allowed


def llm_explanation(
    settings: Settings,
    language: Language,
    score: float,
    segment: Segment,
    predicted_spend: float,
    reasons: list[Reason],
    profile: UserProfile | None,
) -> str | None:
    """The LLM's phrasing, or None (no LLM, failure, or a number that is not in the input)."""
    if settings.llm == "none":
        return None

    facts = {
        "score": round(score),
        "segment": i18n.segment_label(segment, language),
        "predicted_12m_spend_cny": round(predicted_spend),
        "reasons": [
            {
                "signal": r.label_zh if language == "zh" else r.label_en,
                "value": None if r.value is None else float(_fmt(r.value).replace(",", "")),
                "effect": "raises score" if r.contribution > 0 else "lowers score",
            }
            for r in reasons[:4]
        ],
        "interests": (profile.interests[:3] if profile else []),
    }
    source = json.dumps(facts, ensure_ascii=False)
    lang_name = "Simplified Chinese" if language == "zh" else "English"
    system = (
        f"Explain a customer's value score to shop staff in {lang_name}, in at most two short sentences. "
        "Use only the facts given; copy numbers exactly; do not add any other number."
    )
    try:
        model = get_chat_model(settings, temperature=0.1, max_tokens=120)
        if model is None:
            return None
        reply = model.invoke(mask_messages([("system", system), ("user", source)], new_masker()))
    except Exception as exc:  # any provider failure falls back to the template
        log.warning("LLM explanation failed: %s", exc)
        return None
    text = str(reply.content).strip()
    if not text or len(text) > 400 or not numbers_are_grounded(text, source):
        log.info("LLM explanation rejected (ungrounded number or bad length): %r", text[:200])
        return None
    return text
