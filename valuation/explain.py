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

import numpy as np

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


def _fmt_many(values: np.ndarray) -> np.ndarray:
    """``_fmt`` of every value (NaN: none), formatting each distinct value once: a chunk's reason values repeat
    (counts, days, rounded amounts). Distinct by bit pattern, so -0.0 keeps its own text."""
    flat = values.ravel()
    bits, first, inverse = np.unique(flat.view(np.int64), return_index=True, return_inverse=True)
    texts = np.array([_fmt(None if v != v else v) for v in flat[first].tolist()], dtype=object)
    return texts[inverse.reshape(-1)] if len(bits) else np.empty(0, dtype=object)


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
    """Two sentences from the numbers, no LLM (one user of ``template_explanations``)."""
    k = len(reasons)
    return template_explanations(
        [language],
        np.array([score], dtype=float),
        [segment],
        np.array([predicted_spend], dtype=float),
        np.array([[r.label_en for r in reasons]], dtype=object).reshape(1, k),
        np.array([[r.label_zh for r in reasons]], dtype=object).reshape(1, k),
        np.array([[np.nan if r.value is None else r.value for r in reasons]], dtype=float).reshape(1, k),
        np.array([[r.contribution for r in reasons]], dtype=float).reshape(1, k),
    )[0]


# Per language (True: Chinese): the separator of named reasons, the raising and lowering lead-ins, the sentence
# end, and the head with ``str.format`` fields for the score, the segment label and the predicted spend.
_TEMPLATE_PARTS: dict[bool, tuple[str, str, str, str, str]] = {
    False: (
        ", ", " Raising it: ", " Lowering it: ", ".",
        "Value score {:.0f}/100 ({}); predicted 12-month spend ¥{:,.0f}.",
    ),
    True: ("、", "加分项：", "减分项：", "。", "价值评分 {:.0f}/100（{}），预计未来12个月消费 ¥{:,.0f}。"),
}  # fmt: skip


def _sentence_format(zh: bool, up_has_value: list[bool], down_has_value: list[bool]) -> str:
    """The ``str.format`` string of one sentence shape: the head, then the raising and the lowering reasons
    named, each a field for its label and, when it has a value, one for the value."""
    sep, raise_, lower, end, head = _TEMPLATE_PARTS[zh]
    text = head
    for lead, has_value in ((raise_, up_has_value), (lower, down_has_value)):
        if has_value:
            text += lead + sep.join("{} {}" if v else "{}" for v in has_value) + end
    return text


def template_explanations(
    languages: Sequence[str] | np.ndarray,
    scores: np.ndarray,
    segments: Sequence[Segment | str] | np.ndarray,
    predicted_spend: np.ndarray,
    labels_en: np.ndarray,
    labels_zh: np.ndarray,
    values: np.ndarray,
    contributions: np.ndarray,
) -> list[str]:
    """The template explanation of many users at once (the batch's path): per user a language, score, segment
    and spend; (n, k) arrays hold each user's reasons in order (value NaN: none). Up to three raising and two
    lowering reasons are named. Users are grouped by sentence shape (language, which reasons are named, which
    have a value): each shape is one format string, so a user costs one ``str.format`` call."""
    n, k = contributions.shape
    text = _fmt_many(np.asarray(values, dtype=float)).reshape(n, k)
    up, down = contributions > 0, contributions < 0
    take_up, take_down = up & (np.cumsum(up, axis=1) <= 3), down & (np.cumsum(down, axis=1) <= 2)
    has_text = (text != "") & (take_up | take_down)
    is_zh = np.asarray(languages, dtype=object) == "zh"
    bits = np.left_shift(1, np.arange(k, dtype=np.int64))
    shape = (
        is_zh.astype(np.int64)
        | (take_up.astype(np.int64) @ bits) << 1
        | (take_down.astype(np.int64) @ bits) << (1 + k)
        | (has_text.astype(np.int64) @ bits) << (1 + 2 * k)
    )
    codes, first, inverse = np.unique(shape, return_index=True, return_inverse=True)
    by_shape = np.argsort(inverse.reshape(-1), kind="stable")
    bounds = np.searchsorted(inverse.reshape(-1)[by_shape], np.arange(len(codes) + 1))
    by_segment = {s: (i18n.segment_label(s, "en"), i18n.segment_label(s, "zh")) for s in set(segments)}
    seg_labels = np.array([by_segment[s] for s in segments], dtype=object).reshape(n, 2)
    scores, spend = np.asarray(scores, dtype=float), np.asarray(predicted_spend, dtype=float)
    out = np.empty(n, dtype=object)
    for g, row in enumerate(first.tolist()):
        rows = by_shape[bounds[g] : bounds[g + 1]]
        zh = bool(is_zh[row])
        labels = labels_zh if zh else labels_en
        ups, downs = np.flatnonzero(take_up[row]).tolist(), np.flatnonzero(take_down[row]).tolist()
        fields = [scores[rows].tolist(), seg_labels[rows, int(zh)].tolist(), spend[rows].tolist()]
        for j in ups + downs:
            fields.append(labels[rows, j].tolist())
            if has_text[row, j]:
                fields.append(text[rows, j].tolist())
        form = _sentence_format(
            zh, [bool(has_text[row, j]) for j in ups], [bool(has_text[row, j]) for j in downs]
        )
        out[rows] = [form.format(*args) for args in zip(*fields, strict=True)]
    return out.tolist()


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
