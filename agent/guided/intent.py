"""Intent + slots of a shopper message: rules for the sure cases, then the LLM (JSON mode with a schema) or,
with no LLM, a nearest-intent classifier over bilingual exemplars embedded with the offline USE model."""

from __future__ import annotations

import logging
import re
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from agent.guided.answers import MEMBER_RE, REVIEWS_RE, SOLD_HERE_RE, UNSUPPORTED_RE
from agent.guided.exemplars import INTENT_EXEMPLARS
from agent.guided.prompts import intent_messages
from agent.guided.slots import Slots, extract_slots
from agent.vocabulary import Catalog
from domain.cache import per_settings
from domain.settings import Settings
from llm.structured import invoke_structured
from tools.sanitize import looks_like_injection
from vectorstore.embedding import get_embedding_function

log = logging.getLogger(__name__)

Intent = Literal[
    "recommend", "search", "compare", "product_details", "order_status", "my_history", "value_explain",
    "greeting", "off_topic", "ambiguous", "injection", "member_level", "unsupported", "not_sold", "reviews",
]  # fmt: skip
LLM_INTENTS = [i for i in INTENT_EXEMPLARS]
LLM_BELOW_SIMILARITY = 0.8

_ORDER_RE = re.compile(
    r"\border(?:s)?\b|package|parcel|deliver|shipping|shipped|track|订单|快递|物流|包裹|发货|到货|签收", re.I
)
_COMPARE_RE = re.compile(
    r"\bcompare|\bvs\.?\b|versus|which (?:one )?is better|which of (?:them|these|those|the two)|which one|"
    r"difference|哪个好|哪个更|哪款|哪一款|哪个|对比|比较|区别|还是",
    re.I,
)
_GENERIC_ASK_RE = re.compile(r"anything|something|gifts?|present|推荐|礼物|东西|什么|便宜|好的", re.I)
_DETAILS_RE = re.compile(
    r"tell me more|more about|details?|specs?|in stock|rating|reviews? of|详情|详细|参数|介绍|有货|评价|怎么样",
    re.I,
)
_STAFF_VALUE_RE = re.compile(
    r"\bwhy\b|score|value|segment|vip|worth|churn|为什么|评分|分数|价值|分群|流失", re.I
)
_HISTORY_RE = re.compile(
    r"\b(?:i|my)\b.*\b(?:bought|purchased|history|ordered|reviewed|viewed)\b|买过|购买记录|历史|浏览过|上次买",
    re.I,
)
_RECOMMEND_RE = re.compile(r"recommend|suggest|advise|what should i (?:buy|get)|推荐|建议|适合我", re.I)
_QUESTION_RE = re.compile(
    r"[?？吗]\s*$|^\s*(?:is|are|does|do|can|will|would)\b|是否|是不是|适不适合|好不好", re.I
)
_SHOPPING_RE = re.compile(
    r"recommend|suggest|buy|gift|present|looking for|need|want|推荐|买|礼物|送|想要|需要|挑", re.I
)


class IntentResult(BaseModel):
    intent: Intent
    confidence: float = Field(ge=0, le=1)
    source: Literal["rules", "embedding", "llm"]
    slots: Slots


class LlmIntent(BaseModel):
    """What the LLM is asked for (bounded strings: small models run unbounded ones to max_tokens)."""

    intent: Literal[
        "recommend", "search", "compare", "product_details", "order_status", "my_history", "value_explain",
        "greeting", "off_topic", "ambiguous",
    ]  # fmt: skip
    category: str | None = Field(default=None, max_length=30)
    budget_max: float | None = None


class EmbeddingIntentClassifier:
    """k-nearest exemplars by cosine similarity; the score of an intent is its best exemplar's similarity."""

    def __init__(self, settings: Settings) -> None:
        self._embedder = get_embedding_function(settings)
        self.labels: list[str] = []
        texts: list[str] = []
        for intent, examples in INTENT_EXEMPLARS.items():
            self.labels.extend([intent] * len(examples))
            texts.extend(examples)
        self.matrix = self._normalise(self._embedder.embed(texts))

    @staticmethod
    def _normalise(vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def scores(self, text: str) -> dict[str, float]:
        query = self._normalise(self._embedder.embed([text]))[0]
        sims = self.matrix @ query
        best: dict[str, float] = {}
        for label, sim in zip(self.labels, sims, strict=True):
            best[label] = max(best.get(label, -1.0), float(sim))
        return best

    def classify(self, text: str) -> tuple[str, float]:
        scores = self.scores(text)
        intent = max(scores, key=scores.__getitem__)
        return intent, max(0.0, min(1.0, scores[intent]))


@per_settings("embedder", "cache_dir")
def get_classifier(settings: Settings) -> EmbeddingIntentClassifier:
    return EmbeddingIntentClassifier(settings)


def rule_intent(text: str, slots: Slots, *, is_staff: bool, has_shown_products: bool) -> str | None:
    """The cases rules decide with certainty, before any model is asked."""
    if looks_like_injection(text):
        return "injection"
    if not is_staff and MEMBER_RE.search(text):
        return "member_level"
    if UNSUPPORTED_RE.search(text):
        return "unsupported"
    if slots.order_id or (_ORDER_RE.search(text) and not _SHOPPING_RE.search(text)):
        return "order_status"
    if is_staff and (slots.target_user_id or _STAFF_VALUE_RE.search(text)) and _STAFF_VALUE_RE.search(text):
        return "value_explain"
    refs = (
        len(slots.product_ids)
        + len(slots.ordinals)
        + (2 if slots.demonstratives and has_shown_products else 0)
    )
    if _COMPARE_RE.search(text) and (
        refs >= 2 or slots.demonstratives or (has_shown_products and slots.criterion and not slots.category)
    ):
        return "compare"
    pointed = slots.product_ids or slots.ordinals or (slots.demonstratives and has_shown_products)
    if pointed and (_DETAILS_RE.search(text) or slots.yes_no or slots.criterion) and not slots.relative:
        return "product_details"
    if not pointed and (slots.category or slots.brand) and REVIEWS_RE.search(text):
        return "reviews"  # "what do customers say about your coffee machines": their reviews answer
    if not pointed and slots.brand and (slots.yes_no or slots.criterion) and _QUESTION_RE.search(text):
        return "product_details"  # "Is the Sony headphone good for travel?": the planner finds the Sony
    concrete = (
        slots.category or slots.brand or slots.product_ids or slots.relative or slots.price_preference
        or slots.budget_max or slots.budget_min or slots.criterion
    )  # fmt: skip
    if SOLD_HERE_RE.search(text) and not concrete and not _GENERIC_ASK_RE.search(text):
        return "not_sold"
    if _HISTORY_RE.search(text) and not _SHOPPING_RE.search(text):
        return "my_history"
    return None


def llm_intent(
    settings: Settings, text: str, catalog: Catalog, history_hint: str, masker: object
) -> LlmIntent | None:
    messages = intent_messages(text, sorted(catalog.categories), history_hint)
    return invoke_structured(settings, messages, LlmIntent, masker=masker, retries=1, max_tokens=60)  # type: ignore[arg-type]


def classify(
    settings: Settings,
    text: str,
    catalog: Catalog,
    *,
    is_staff: bool = False,
    has_shown_products: bool = False,
    known_user_ids: set[str] | None = None,
    use_llm: bool = True,
    history_hint: str = "",
    masker: object = None,
) -> IntentResult:
    slots = extract_slots(text, catalog, known_user_ids=known_user_ids)
    ruled = rule_intent(text, slots, is_staff=is_staff, has_shown_products=has_shown_products)
    if ruled:
        return IntentResult(intent=ruled, confidence=1.0, source="rules", slots=slots)  # type: ignore[arg-type]
    embedded, similarity = get_classifier(settings).classify(text)
    result = IntentResult(intent=embedded, confidence=similarity, source="embedding", slots=slots)  # type: ignore[arg-type]
    # The exemplars are sure about most messages; the small model is asked only when they are not, and only
    # when the rules left its slots empty: with the category known, its answer changed nothing but the time.
    if use_llm and settings.llm != "none" and similarity < LLM_BELOW_SIMILARITY and not slots.category:
        proposed = llm_intent(settings, text, catalog, history_hint, masker)
        if proposed is not None:
            # The small model is often wrong where the exemplars are sure; trust it only when they are not.
            if similarity < 0.6 or proposed.intent == embedded:
                result = IntentResult(intent=proposed.intent, confidence=0.7, source="llm", slots=slots)
            # its slots only count when it reads the message as a shopping request too ("write a poem"
            # labelled off_topic must not turn into a book search through the model's category guess)
            shopping = proposed.intent in ("recommend", "search") and result.intent in ("recommend", "search")
            if shopping and slots.category is None and proposed.category:
                slots.category = catalog.find_category(proposed.category) or (
                    proposed.category if proposed.category in catalog.categories else None
                )
            if shopping and slots.budget_max is None and proposed.budget_max and proposed.budget_max > 0:
                slots.budget_max = proposed.budget_max if re.search(r"\d", text) else None
    result = _refine(result, text, is_staff=is_staff)
    return result


def _refine(result: IntentResult, text: str, *, is_staff: bool) -> IntentResult:
    """Consistency fixes: a concrete shopping ask is never 'ambiguous'; shoppers never get value_explain."""
    slots = result.slots
    concrete = bool(slots.category or slots.brand or slots.budget_max or slots.budget_min)
    if result.intent in ("ambiguous", "greeting", "off_topic") and concrete and _SHOPPING_RE.search(text):
        result.intent = "recommend"
    elif result.intent in ("ambiguous", "off_topic", "greeting") and slots.category:
        result.intent = "search"  # "Show me some handbags": a category named is a search, whatever the label
    if result.intent == "search" and _RECOMMEND_RE.search(text):
        result.intent = "recommend"  # "what do you suggest" asks for the value-aware recommender
    if result.intent == "value_explain" and not is_staff:
        result.intent = "my_history"
    return result
