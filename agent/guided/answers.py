"""Answers to the question that was asked, written by code from the tool results: a criterion ("for a student",
"适合旅行") judged from product titles and descriptions, yes/no questions about a shown product ("is it on sale?",
"第一款有货吗"), the shopper's member level, and requests the tools cannot serve."""

from __future__ import annotations

import re
from typing import Any, Literal

from agent.guided.templates import plain
from domain.i18n import money

YesNo = Literal["on_sale", "in_stock", "rating"]


class Criterion:
    def __init__(self, en: str, zh: str, ask: str, evidence: str, prefer_low_price: bool = False) -> None:
        self.en, self.zh = en, zh
        self.ask = re.compile(ask, re.I)  # how a shopper names it
        self.evidence = re.compile(evidence, re.I)  # what in a title/description speaks to it
        self.prefer_low_price = prefer_low_price


CRITERIA: dict[str, Criterion] = {
    "student": Criterion("students", "学生", r"\bstudents?\b|\bschool\b|\bcollege\b|\bstudy|学生|上学|上课",
                         r"student|school|study|lightweight|portable|学生|学习|轻薄|轻便|便携", True),
    "travel": Criterion("travel", "旅行", r"\btravel|\btrips?\b|\bcommut|\bon the go\b|旅行|旅游|出差|出行|出游|通勤",
                        r"travel|trip|getaway|commut|portable|lightweight|foldable|compact|旅行|出差|出游|出行|通勤|便携|轻便|轻薄|折叠"),
    "quiet": Criterion("quietness", "安静", r"\bquiet|\bsilent|\bnoise|安静|静音|降噪|吵",
                       r"quiet|silent|noise|安静|静音|降噪"),
    "sport": Criterion("sport", "运动", r"\bsports?\b|\bworkouts?\b|\bgym\b|\brunning\b|\bexercise|运动|健身|跑步|锻炼",
                       r"sport|workout|training|gym|sweat|running|marathon|运动|健身|训练|防汗|跑|马拉松"),
    "office": Criterion("work", "办公", r"\boffice\b|\bwork\b|\bbusiness\b|办公|上班|工作|商务",
                        r"office|work|business|办公|商务|上班"),
    "gift": Criterion("a gift", "送礼", r"\bgifts?\b|\bpresent\b|送礼|礼物|送人",
                      r"gift|present|送礼|礼物|礼盒"),
    "kids": Criterion("children", "孩子", r"\bkids?\b|\bchild|\btoddler|\bbaby\b|孩子|儿童|小孩|宝宝",
                      r"kid|child|toddler|newborn|儿童|孩子|幼儿|宝宝|新生儿|带娃"),
    "seniors": Criterion("older people", "长辈", r"\bseniors?\b|\belderly\b|\bparents?\b|\bgrandp|长辈|老人|父母|爸妈",
                         r"senior|elderly|长辈|老人"),
    "photo": Criterion("photos", "拍照", r"\bphotos?\b|\bphotography\b|\bvlog|拍照|摄影|拍摄",
                       r"photo|camera|vlog|拍照|拍摄|摄影"),
}  # fmt: skip

_YES_NO: tuple[tuple[YesNo, re.Pattern[str]], ...] = (
    (
        "on_sale",
        re.compile(r"\bon sale\b|\bdiscount|\bpromotion|\bdeal\b|促销|打折|优惠|折扣|减价|特价", re.I),
    ),
    ("in_stock", re.compile(r"\bin stock\b|\bavailable\b|\bsold out\b|有货|库存|缺货|现货|还有吗", re.I)),
    (
        "rating",
        re.compile(r"\brat(?:ed|ing)\b|\breviews?\b|\bgood\b|评分|评价|口碑|好评|好不好|怎么样", re.I),
    ),
)
MEMBER_RE = re.compile(
    r"what (?:kind|type|level|tier) of (?:customer|member|shopper)|(?:member(?:ship)?|customer|loyalty) "
    r"(?:level|tier|status|rank)|my (?:level|tier|status)\b|am i (?:a )?(?:vip|gold|silver|premium)|"
    r"什么级别|什么等级|哪个等级|哪一级|几级|会员等级|会员级别|客户等级|客户级别|算什么客户|是vip吗|是不是vip",
    re.I,
)
UNSUPPORTED_RE = re.compile(
    r"\brefund|\breturn (?:it|this|my|the)|\bcancel (?:my|the|an|this)? ?order|\bchange (?:my|the) (?:address|order)"
    r"|\bexchange (?:it|this|my)|\binvoice|\bcomplain|\bspeak to a (?:human|person|manager)|"
    r"退款|退货|取消订单|改地址|修改地址|换货|发票|投诉|人工客服",
    re.I,
)
SOLD_HERE_RE = re.compile(
    r"\bdo you (?:sell|have|carry|stock)\b|\bdoes (?:the|your) shop (?:sell|have)|\bcan i buy\b|"
    r"有没有卖|有卖|你们卖|卖不卖|有没有(?!.{0,4}(?:优惠|折扣|货))",
    re.I,
)


REVIEWS_RE = re.compile(
    r"\bwhat do (?:other )?(?:customers|people|buyers|shoppers|users) (?:say|think)|\breviews? (?:of|about|on|for)\b|"
    r"\bhow are (?:the )?reviews\b|\b(?:customer|user) reviews\b|\breviews say\b|"
    r"评价(?:怎么样|如何|好不好|怎样)|口碑|评论|(?:顾客|客户|买家|用户|大家|别人|其他人)[^，。？?]{0,10}(?:评价|怎么说|觉得)",
    re.I,
)


def find_criterion(text: str) -> str | None:
    return next((key for key, c in CRITERIA.items() if c.ask.search(text)), None)


def find_yes_no(text: str) -> YesNo | None:
    return next((kind for kind, pattern in _YES_NO if pattern.search(text)), None)


def _facts_text(details: dict[str, Any]) -> str:
    product = details.get("product") or details
    return f"{plain(product.get('title'))} {plain(details.get('description'))}"


def _hits(criterion: Criterion, details: dict[str, Any]) -> list[str]:
    return list(dict.fromkeys(m.group(0) for m in criterion.evidence.finditer(_facts_text(details))))


def criterion_answer(lang: str, key: str, details: list[dict[str, Any]]) -> str:
    """Which product suits the criterion, from what their titles and descriptions say (or that they don't)."""
    criterion = CRITERIA[key]
    zh = lang == "zh"
    label = criterion.zh if zh else criterion.en
    products = [d.get("product") or d for d in details]
    hits = [_hits(criterion, d) for d in details]
    best = max(len(h) for h in hits) if hits else 0
    leaders = [i for i, h in enumerate(hits) if best and len(h) == best]
    if not leaders and not criterion.prefer_low_price:
        names = (
            "、".join(plain(p["title"]) for p in products)
            if zh
            else ", ".join(plain(p["title"]) for p in products)
        )
        if zh:
            return f"商品信息里没有说明{names}是否适合{label}，我没法据此判断；可以参考下面的价格和评分。"
        return f"The product information doesn't say whether {names} suit {label}, so I can't judge that; the prices and ratings below may help."
    pool = leaders or list(range(len(products)))
    cheapest = min(pool, key=lambda i: products[i]["price"])
    pick = cheapest if criterion.prefer_low_price or len(pool) > 1 else pool[0]
    product = products[pick]
    why: list[str] = []
    if hits[pick]:
        quoted = (
            "、".join(f"「{h}」" for h in hits[pick][:3])
            if zh
            else ", ".join(f"“{h}”" for h in hits[pick][:3])
        )
        why.append(f"商品信息提到{quoted}" if zh else f"its description mentions {quoted}")
    if len(products) > 1 and (criterion.prefer_low_price or len(pool) > 1):
        others = ("、" if zh else ", ").join(money(p["price"]) for i, p in enumerate(products) if i != pick)
        if product["price"] <= min(p["price"] for p in products):
            why.append(f"价格更低（{money(product['price'])}，另一款{others}）" if zh else
                       f"it costs less ({money(product['price'])} vs {others})")  # fmt: skip
    title = plain(product["title"])
    if zh:
        return (
            f"就{label}而言，{title}更合适：" + "，".join(why) + "。"
            if why
            else f"就{label}而言，{title}更合适。"
        )
    return (
        f"For {label}, {title} is the better fit: " + "; ".join(why) + "."
        if why
        else f"For {label}, {title} is the better fit."
    )


def single_criterion_answer(lang: str, key: str, details: dict[str, Any]) -> str:
    """A yes, with the words of the product's own information that back it, or "it doesn't say"."""
    criterion = CRITERIA[key]
    zh = lang == "zh"
    title = plain((details.get("product") or details)["title"])
    label = criterion.zh if zh else criterion.en
    hits = _hits(criterion, details)
    if hits:
        quoted = "、".join(f"「{h}」" for h in hits[:3]) if zh else ", ".join(f"“{h}”" for h in hits[:3])
        return (
            f"是的，{title}适合{label}：商品信息提到{quoted}。"
            if zh
            else f"Yes, {title} suits {label}: its description mentions {quoted}."
        )
    return (
        f"{title}的商品信息里没有说明是否适合{label}。"
        if zh
        else f"The information on {title} doesn't say whether it suits {label}."
    )


REVIEW_QUOTE_CHARS = 120


def reviews_answer(lang: str, details: list[dict[str, Any]]) -> tuple[str, str]:
    """``(header, body)`` summarising what shoppers said about the products found: their average rating
    weighted by review count, then per product its rating and one review in the shopper's language."""
    zh = lang == "zh"
    products = [d["product"] for d in details]
    category = products[0].get("category") or ("商品" if zh else "products")
    count = sum(int(p.get("rating_count") or 0) for p in products)
    if not count:
        return (f"这几款{category}还没有评价。" if zh else f"These {category} have no reviews yet."), ""
    average = sum(float(p.get("rating") or 0) * int(p.get("rating_count") or 0) for p in products) / count
    if zh:
        header = f"顾客对这几款{category}的评价：平均★{average:.1f}，共{count}条评价。"
    else:
        header = f"Here is what shoppers say about these {category}: ★{average:.1f} on average over {count} reviews."
    lines = []
    for i, (product, detail) in enumerate(zip(products, details, strict=True), 1):
        n = int(product.get("rating_count") or 0)
        counted = f"（{n}条评价）" if zh else f" ({n} reviews)"
        rating = f"★{float(product.get('rating') or 0):.1f}"
        lines.append(f"{i}. {plain(product['title'])} — {money(product['price'])} {rating}{counted}")
        review = next(
            (r for r in detail.get("reviews", []) if r.get("language") == lang and plain(r.get("text"))), None
        )
        if review:
            text = plain(review["text"])
            quote = text if len(text) <= REVIEW_QUOTE_CHARS else text[:REVIEW_QUOTE_CHARS].rstrip() + "…"
            lines.append(
                f"   “{quote}”（★{review['rating']}）" if zh else f"   “{quote}” (★{review['rating']})"
            )
    return header, "\n".join(lines)


def yes_no_answer(lang: str, kind: YesNo, details: dict[str, Any]) -> str:
    product = details["product"]
    title, zh = plain(product["title"]), lang == "zh"
    if kind == "on_sale":
        if product.get("on_promotion") and product.get("discount_pct"):
            pct = round(product["discount_pct"] * 100)
            was = f"，原价{money(product['list_price'])}" if zh and product.get("list_price") else ""
            was_en = f", was {money(product['list_price'])}" if product.get("list_price") else ""
            return f"是的，{title}正在促销：立减{pct}%，现价{money(product['price'])}{was}。" if zh else \
                f"Yes, {title} is on sale: {pct}% off, now {money(product['price'])}{was_en}."  # fmt: skip
        return f"没有，{title}目前没有促销，售价{money(product['price'])}。" if zh else \
            f"No, {title} is not on sale right now; it costs {money(product['price'])}."  # fmt: skip
    if kind == "in_stock":
        stock = int(details.get("stock") or 0)
        if stock:
            return f"有货，{title}目前库存{stock}件。" if zh else f"Yes, {title} is in stock ({stock} left)."
        return f"抱歉，{title}目前缺货。" if zh else f"Sorry, {title} is out of stock right now."
    rating, count = float(product.get("rating") or 0), int(product.get("rating_count") or 0)
    if zh:
        return f"{title}的评分是★{rating:.1f}（{count}条评价）。"
    return f"{title} is rated ★{rating:.1f} from {count} reviews."


def parse_member_levels(setting: str) -> dict[str, tuple[str, str]]:
    """``"vip=Gold member|金卡会员,loyal=Silver member|银卡会员"`` -> ``{"vip": ("Gold member", "金卡会员"), ...}``."""
    levels: dict[str, tuple[str, str]] = {}
    for item in (setting or "").split(","):
        segment, _, names = item.partition("=")
        en, _, zh = names.partition("|")
        if segment.strip() and en.strip():
            levels[segment.strip()] = (en.strip(), (zh or en).strip())
    return levels


def member_level_answer(lang: str, segment: str | None, levels: dict[str, tuple[str, str]]) -> str:
    """The shop's configured member level for the shopper's segment; without one, a polite "can't share"."""
    level = levels.get(segment or "")
    if level is None:
        if lang == "zh":
            return "抱歉，我这里没有可以告诉您的会员等级信息。我可以根据您的购物记录为您推荐商品，或帮您查询订单。"
        return "Sorry, I don't have a member level I can share with you. I can recommend products based on your purchases or check your orders."
    return (
        f"您目前是我们的{level[1]}，感谢您的支持！"
        if lang == "zh"
        else f"Your member level with us is {level[0]}. Thank you for shopping with us!"
    )
