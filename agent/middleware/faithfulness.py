"""The faithfulness check on every sentence an LLM writes for the shopper, in the guided and react modes.

A sentence passes only when each claim in it is backed by the tool results of this conversation:

* product names (catalog titles, ids) and brands were returned by a tool;
* every number (price, percentage, count, date, rating, model code) appears in the tool results or the
  shopper's own message;
* "within your budget"/"预算内" only when the shopper gave a price limit;
* tier, level and segment words ("三级客户", "VIP", "gold member") appear in the tool results;
* a comparison ("cheapest", "最便宜", "highest rated", "评分最高") names the one product the facts make the winner;
* a value word agrees with the tool's price order: "affordable"/"实惠"/"性价比高" only over a list the tool
  ordered cheapest first, "pricey"/"贵" only over one ordered priciest first, and never "poor value"/"性价比低";
* the speaker is the assistant talking to the shopper (never "You should recommend…", "您可以推荐…"); a lead-in
  over a product list asks the shopper nothing back ("请问您…", "您想看看…吗？");
* the sentence is in the shopper's language.

:func:`generate_faithful` runs a writer, checks its sentences, regenerates once with the failed claims fed
back, then gives up (the caller shows its template). Failures are logged PII-masked.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from agent.middleware.guards import check_text, iter_dicts, mask_output, split_sentences
from agent.vocabulary import Catalog
from domain.i18n import detect_language

log = logging.getLogger(__name__)

Check = Literal[
    "product",
    "brand",
    "number",
    "tier",
    "comparative",
    "polarity",
    "budget",
    "speaker",
    "refusal",
    "language",
    "length",
    "empty",
]
Outcome = Literal["first_try", "regenerated", "template"]

_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_FOREIGN_CURRENCY_RE = re.compile(r"[$€£]|\bUSD\b|美元")
_TIER_RE = re.compile(
    r"[一二三四五六七八九十\d]\s*(?:级|星)(?:客户|会员|用户)|(?:客户|会员|用户)\s*(?:等级|级别)|"
    r"(?:金|银|铜|铂金|钻石|黑)卡|VIP|贵宾|高价值|忠诚客户|价格敏感|流失|分群|"
    r"\b(?:tier|level|segment|gold|silver|platinum|diamond|premium member|loyal customer|price[- ]sensitive|"
    r"at[- ]risk|lapsed)\b",
    re.I,
)
# comparative words -> what they claim; "best"-style words claim an unverifiable ranking
_COMPARATIVES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"cheapest|lowest[- ]priced|lowest price|least expensive|most affordable|最便宜|最实惠|价格最低|最低价", re.I), "cheapest"),
    (re.compile(r"most expensive|highest[- ]priced|highest price|priciest|最贵|价格最高", re.I), "priciest"),
    (re.compile(r"highest[- ]rated|best[- ]rated|top[- ]rated|best reviewed|评分最高|评价最好|好评最多|口碑最好", re.I), "best_rated"),
    (re.compile(r"biggest discount|largest discount|deepest discount|折扣最大|优惠最大|最划算", re.I), "biggest_discount"),
    (re.compile(r"\b(?:best|highest|lowest|most popular|best[- ]selling|top|better|cheaper|greater)\b|最好|最高|最低|最受欢迎|最畅销|销量最高|更好|更便宜|更适合|最适合", re.I), "unbacked"),
)  # fmt: skip
_SPEAKER_RE = re.compile(
    r"\byou (?:should|can|could|may|might|must) (?:recommend|suggest|offer)|\b(?:recommend|suggest|offer) "
    r"(?:it|them|this|these) to (?:the|your) (?:customer|shopper|user)|\bthe (?:customer|shopper|user)\b|"
    r"\bI(?:'m| am) (?:looking for|interested in)|\bI (?:want|need|would like) to buy|\bmy budget\b|"
    r"\bas a (?:customer|shopper)\b|"
    r"[您你](?:可以|应该|可|不妨|最好)(?:向.{0,6})?推荐|推荐给(?:顾客|客户|用户)|顾客|客人|用户们?(?:可以|会)|"
    r"(?<![为给帮])[您你](?:推荐|找到|挑选|准备)了|"
    r"我(?:想|要|需要|打算)(?:买|购买|找)|我的预算|"
    r"\bfacts?\b|事实|\bJSON\b|\byou are (?:a|an|the) [a-z ]{0,20}assistant|\bproduct list\b|talking to a shopper|"
    r"你是购物助手|商品列表会显示",  # talking about (or echoing) its own prompt
    re.I,
)


# Value words about the shown products and the price order that backs them. Disparaging the list is never a fact
# a tool states; "cheap" needs a list ordered cheapest first, "pricey" one ordered priciest first. "最/更" forms
# are comparatives, checked above.
_LOW_VALUE_RE = re.compile(
    r"性价比(?:较|比较|很|偏|不)?(?:低|差)|性价比不高|不(?:太)?划算|不值|\b(?:overpriced|poor value|bad value|not worth)\b|"
    r"too expensive|太贵|偏贵",
    re.I,
)
_CHEAP_CLAIM_RE = re.compile(
    r"\b(?:cheap|affordable|inexpensive|budget[- ]friendly|low[- ]priced|low[- ]cost|bargains?|good value|"
    r"great value|value for money)\b|(?<![不最更])便宜|(?<![最更])实惠|低价|平价|廉价|高性价比|"
    r"性价比(?:较|比较|很|超|极)?高|(?<![最更])划算|不贵|价格(?:较|比较|偏)?低|价格亲民|省钱",
    re.I,
)
_PRICEY_CLAIM_RE = re.compile(
    r"(?<!most )(?<!more )(?<!less )\b(?:expensive|pricey|high[- ]priced|costly)\b|(?<![不最更太偏])贵(?!宾)|"
    r"价格(?:较|比较|偏)?高|不便宜|高价",
    re.I,
)
_SORTED_BY_PRICE_RE = re.compile(
    r"\b(?:sorted|ordered|arranged|listed) by price\b|按价格(?:高低|从低到高|从高到低)?(?:排序|排列)", re.I
)
_CHEAPEST_FIRST_RE = re.compile(
    r"\b(?:cheapest|lowest[- ]priced?) first\b|(?:按)?价格从低到高(?:排列|排序)?", re.I
)
# "within your budget" is a claim too: only when the shopper named one (asking for it is no claim)
_BUDGET_RE = re.compile(r"\bbudget\b|预算", re.I)
_QUESTION_RE = re.compile(
    r"[?？]|请问|[您你][^，。！,]{0,12}吗|\b(?:would|do|can|could) you (?:like|want|need|prefer)\b", re.I
)

# "I can't help with that" / "没有找到" over a list of products the tools did return is a false claim.
_REFUSAL_RE = re.compile(
    r"\b(?:can(?:no|')t|unable to|couldn't|could not|don't have|do not have) (?:help|find|assist|offer)|"
    r"\bno (?:products?|results?|matches)\b|无法|不能帮|帮不了|没有找到|找不到|没有(?:合适|相关|符合)",
    re.I,
)


class Failure(BaseModel):
    check: Check
    claim: str = Field(max_length=200)


class Evidence(BaseModel):
    """What the tools said in this conversation, in the shapes the checks compare against."""

    titles: dict[str, str] = Field(default_factory=dict)  # lower-cased title -> product id
    brands: set[str] = Field(default_factory=set)  # lower-cased
    numbers: set[str] = Field(default_factory=set)  # canonical number strings
    text: str = ""  # every string the tools returned, lower-cased (tier words, criteria)
    winners: dict[str, set[str]] = Field(default_factory=dict)  # comparison kind -> product ids that win it
    grounded: list[str] = Field(default_factory=list)
    allowed_refs: set[str] = Field(default_factory=set)
    # the price order of the last product list a tool returned: "ascending" (cheapest first), "descending"
    # or None (ranked by something else, or fewer than two products)
    price_order: Literal["ascending", "descending"] | None = None
    budget: bool = False  # the shopper gave a price limit in this turn or one carried into it


def canonical_numbers(text: str) -> set[str]:
    """Numbers as canonical strings: "1,299.00" and "1299" are the same number."""
    found = set()
    for raw in _NUMBER_RE.findall(text):
        try:
            found.add(f"{float(raw.replace(',', '')):g}")
        except ValueError:
            found.add(raw)
    return found


def _number_forms(value: float) -> set[str]:
    forms = {f"{value:g}", f"{round(value, 2):g}"}
    if 0 < value < 1:  # shares (discounts, churn) are said as percentages
        forms.add(f"{round(value * 100):g}")
    return forms


def build_evidence(
    outputs: Iterable[dict[str, Any] | None],
    user_text: str,
    grounded: Iterable[str],
    allowed_refs: Iterable[str] = (),
    extra_text: Iterable[str] = (),
    budget: bool | None = None,
) -> Evidence:
    """Evidence from tool outputs (dicts), the shopper's message and texts code wrote from the same facts.
    ``budget``: whether a price limit applies (None: the message has a figure in it)."""
    evidence = Evidence(
        grounded=list(grounded),
        allowed_refs={r.lower() for r in allowed_refs},
        budget=bool(re.search(r"\d", user_text)) if budget is None else budget,
    )
    texts: list[str] = [user_text, *extra_text]
    products: dict[str, dict[str, Any]] = {}
    for output in outputs:
        if isinstance(output, dict) and isinstance(output.get("products"), list):
            evidence.price_order = price_order(
                [p.get("price") for p in output["products"] if isinstance(p, dict)]
            )
        for node in iter_dicts(output):
            for value in node.values():
                for scalar in value if isinstance(value, (list, tuple)) else [value]:
                    if isinstance(scalar, bool):
                        continue
                    if isinstance(scalar, (int, float)):
                        evidence.numbers |= _number_forms(float(scalar))
                    elif isinstance(scalar, str):
                        texts.append(scalar)
            if isinstance(node.get("product_id"), str) and "price" in node and "title" in node:
                products.setdefault(node["product_id"], node)
                evidence.titles[str(node["title"]).lower()] = node["product_id"]
                if node.get("brand"):
                    evidence.brands.add(str(node["brand"]).lower())
            for kind, key in (("cheapest", "cheapest"), ("best_rated", "best_rated")):
                if isinstance(node.get(key), str):
                    evidence.winners.setdefault(kind, set()).add(node[key])
    if products:
        items = list(products.values())
        evidence.winners.setdefault("cheapest", {min(items, key=lambda p: p["price"])["product_id"]})
        evidence.winners["priciest"] = {max(items, key=lambda p: p["price"])["product_id"]}
        evidence.winners.setdefault(
            "best_rated", {max(items, key=lambda p: p.get("rating") or 0)["product_id"]}
        )
        promo = [p for p in items if p.get("discount_pct")]
        if promo:
            evidence.winners["biggest_discount"] = {max(promo, key=lambda p: p["discount_pct"])["product_id"]}
    joined = "\n".join(texts)
    evidence.text = joined.lower()
    evidence.numbers |= canonical_numbers(joined)
    return evidence


def price_order(prices: list[Any]) -> Literal["ascending", "descending"] | None:
    values = [float(p) for p in prices if isinstance(p, (int, float))]
    if len(values) < 2 or values[0] == values[-1]:
        return None
    pairs = list(itertools.pairwise(values))
    if all(a <= b for a, b in pairs):
        return "ascending"
    if all(a >= b for a, b in pairs):
        return "descending"
    return None


def _named_products(sentence: str, evidence: Evidence, catalog: Catalog) -> tuple[set[str], str]:
    """Product ids the sentence names (by title, short title or id) and the sentence with those names cut out."""
    low = sentence.lower()
    named: set[str] = set()
    for title, pid in sorted(evidence.titles.items(), key=lambda t: -len(t[0])):
        for form in (title, title[:24]):
            if len(form) >= 4 and form in low:
                named.add(pid)
                low = low.replace(form, " ")
                break
    for token in catalog.id_like_tokens(sentence):
        if token in evidence.grounded:
            named.add(token)
            low = low.replace(token.lower(), " ")
    return named, low


def check_sentence(
    sentence: str, evidence: Evidence, lang: str, catalog: Catalog, *, lead: bool = False
) -> list[Failure]:
    """Every failed check of one LLM-written sentence (empty = faithful). ``lead``: the sentence opens a reply
    whose answer (a product list) follows, so a question back to the shopper is a reversed speaker."""
    text = sentence.strip()
    if not text:
        return [Failure(check="empty", claim="")]
    failures: list[Failure] = []
    named, rest = _named_products(text, evidence, catalog)
    if detect_language(rest, default=lang) != lang:  # product names keep their own language
        failures.append(Failure(check="language", claim=text[:80]))
    if match := _SPEAKER_RE.search(text):
        failures.append(Failure(check="speaker", claim=match.group(0)))
    elif lead and (match := _QUESTION_RE.search(text)):
        failures.append(Failure(check="speaker", claim=text[:80]))
    if evidence.titles and (match := _REFUSAL_RE.search(rest)):
        failures.append(Failure(check="refusal", claim=match.group(0)))
    report = check_text(text, catalog, evidence.grounded, evidence.allowed_refs)
    for claim in report.ungrounded_ids + report.ungrounded_titles + report.leaked_ids:
        failures.append(Failure(check="product", claim=claim))
    for brand_low, brand in catalog.brands.items():
        if len(brand_low) >= 2 and brand.lower() not in evidence.brands and _word_in(rest, brand_low):
            failures.append(Failure(check="brand", claim=brand))
    if _FOREIGN_CURRENCY_RE.search(rest):
        failures.append(Failure(check="number", claim=_FOREIGN_CURRENCY_RE.search(rest).group(0)))  # type: ignore[union-attr]
    for number in sorted(canonical_numbers(rest) - evidence.numbers):
        failures.append(Failure(check="number", claim=number))
    for match in _TIER_RE.finditer(rest):
        if match.group(0).lower() not in evidence.text:
            failures.append(Failure(check="tier", claim=match.group(0)))
    if evidence.price_order == "ascending":  # "cheapest first" says how the list is ordered, which is true
        rest = _CHEAPEST_FIRST_RE.sub(" ", rest)
    for pattern, kind in _COMPARATIVES:
        if not (match := pattern.search(rest)):
            continue
        winners = evidence.winners.get(kind)
        if kind == "unbacked" or not winners or not named or not named <= winners:
            failures.append(Failure(check="comparative", claim=match.group(0)))
        break  # the most specific comparative decides
    failures += _polarity_failures(rest, evidence)
    if not evidence.budget and not _QUESTION_RE.search(text) and (match := _BUDGET_RE.search(rest)):
        failures.append(Failure(check="budget", claim=match.group(0)))
    return failures


def _polarity_failures(rest: str, evidence: Evidence) -> list[Failure]:
    if match := _LOW_VALUE_RE.search(rest):
        return [Failure(check="polarity", claim=match.group(0))]
    if evidence.price_order is None and (match := _SORTED_BY_PRICE_RE.search(rest)):
        return [Failure(check="polarity", claim=match.group(0))]
    for pattern, order in ((_CHEAP_CLAIM_RE, "ascending"), (_PRICEY_CLAIM_RE, "descending")):
        if (match := pattern.search(rest)) and evidence.price_order != order:
            return [Failure(check="polarity", claim=match.group(0))]
    return []


def _word_in(low_text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", low_text) is not None
    return word in low_text


def check_reply(
    text: str, evidence: Evidence, lang: str, catalog: Catalog, *, lead: bool = False
) -> list[Failure]:
    return [
        f
        for sentence in split_sentences(text)
        for f in check_sentence(sentence, evidence, lang, catalog, lead=lead)
    ]


class FaithfulText(BaseModel):
    text: str | None  # None: both tries failed (or the model wrote nothing), show the template
    outcome: Outcome
    sentences: int = 0  # LLM sentences checked (both tries)
    failures: list[Failure] = Field(default_factory=list)


Writer = Callable[[list[Failure]], str | None]


def generate_faithful(write: Writer, check: Callable[[str], list[Failure]], *, where: str) -> FaithfulText:
    """``write([])`` once; on failure ``write(failures)`` once more; then give up (the caller's template)."""
    failures: list[Failure] = []
    sentences = 0
    for attempt in (0, 1):
        text = write(failures)
        if not text or not text.strip():
            failures = [Failure(check="empty", claim="")]
            continue
        sentences += len(split_sentences(text))
        failures = check(text)
        if not failures:
            return FaithfulText(
                text=text.strip(), outcome="first_try" if attempt == 0 else "regenerated", sentences=sentences
            )
        for failure in failures:  # which check failed, never the raw claim's PII
            log.info("faithfulness (%s, try %d): %s failed on %r", where, attempt + 1, failure.check,
                     mask_output(failure.claim))  # fmt: skip
    return FaithfulText(text=None, outcome="template", sentences=sentences, failures=failures)


def feedback_text(failures: list[Failure], lang: str) -> str:
    """The failed claims, told to the model for its second try."""
    claims = "; ".join(f"{f.check}: {f.claim}" for f in failures if f.claim) or "empty"
    # No word like "facts" or "list" here: the small model echoed it into its next sentence.
    if lang == "zh":
        return f"上一句有不对的内容（{claims}）。请重写一句：告诉顾客为他展示了什么，不写数字，不做比较，称呼“您”。"
    return (
        f"Your last sentence said something wrong ({claims}). Write it again: one short sentence telling the "
        "shopper what you are showing them, no numbers, no comparisons, say 'you'."
    )
