"""Every word the product shows, in Chinese and English: one table per kind of label, one ``Language`` type.

Surfaces (shopper chat, staff console, widget, API errors, the guided agent's templated replies, value
explanations, the CLI) read their words from here, so the two languages never drift apart and a Chinese screen
never shows an English feature name, a category slug or a raw code.
"""

from __future__ import annotations

import re

from domain.models import Language, OrderStatus, PriceTier, Segment

__all__ = ["LANGUAGES", "Language", "detect_language", "money", "normalize_lang", "t"]

LANGUAGES: tuple[Language, Language] = ("zh", "en")
Bilingual = dict[Language, str]

TEXT: dict[str, Bilingual] = {
    # ---- interface (shared, shopper chat, staff console, widget) ----
    "app_title": {"zh": "ShopGuide 智能导购", "en": "ShopGuide shopping assistant"},
    "language": {"zh": "语言", "en": "Language"},
    "send": {"zh": "发送", "en": "Send"},
    "stop": {"zh": "停止", "en": "Stop"},
    "retry": {"zh": "重试", "en": "Retry"},
    "clear": {"zh": "清空对话", "en": "Clear chat"},
    "products": {"zh": "推荐商品", "en": "Products"},
    "on_promotion": {"zh": "促销", "en": "Deal"},
    "off": {"zh": "折", "en": "off"},
    "rating": {"zh": "评分", "en": "rating"},
    "details": {"zh": "商品详情", "en": "Product details"},
    "in_stock": {"zh": "有货", "en": "In stock"},
    "out_of_stock": {"zh": "缺货", "en": "Out of stock"},
    "list_price": {"zh": "原价", "en": "List price"},
    "brand": {"zh": "品牌", "en": "Brand"},
    "category": {"zh": "品类", "en": "Category"},
    "no_products": {"zh": "暂无推荐商品。", "en": "No products yet."},
    "unknown_product": {"zh": "找不到这个商品。", "en": "This product could not be found."},
    "shopper_tagline": {
        "zh": "告诉我你想买什么、预算多少，我会根据你的喜好推荐。",
        "en": "Tell me what you need and your budget; I'll suggest what fits you.",
    },
    "message_placeholder": {"zh": "输入消息，回车发送…", "en": "Type a message and press Enter…"},
    "demo_user": {"zh": "演示用户（仅限演示）", "en": "Demo shopper (demo only)"},
    "demo_user_info": {
        "zh": "演示模式：选择以谁的身份购物。真实嵌入时身份来自站点签发的令牌。",
        "en": "Demo mode: pick who you shop as. Real embeds identify the shopper by a signed token.",
    },
    "examples": {"zh": "试试这样问", "en": "Try asking"},
    "thinking": {"zh": "思考中", "en": "Thinking"},
    "tool_step": {"zh": "步骤", "en": "Step"},
    "feedback_thanks": {"zh": "感谢反馈！", "en": "Thanks for the feedback!"},
    "rate_limited": {
        "zh": "消息发送太频繁，请稍后再试。",
        "en": "You're sending messages too quickly; please wait a moment.",
    },
    "message_too_long": {
        "zh": "消息太长（最多 {n} 个字符）。",
        "en": "That message is too long (at most {n} characters).",
    },
    "chat_unavailable": {
        "zh": "聊天服务暂时不可用，请稍后再试。",
        "en": "The chat service is unavailable right now; please try again shortly.",
    },
    "empty_message": {"zh": "请输入内容。", "en": "Please type a message."},
    "staff_title": {"zh": "客服控制台", "en": "Customer-service console"},
    "staff_login": {
        "zh": "请使用客服账号登录（演示账号见 README）。",
        "en": "Sign in with a staff account (see the README for the demo account).",
    },
    "lookup_tab": {"zh": "客户查询", "en": "Customer lookup"},
    "segments_tab": {"zh": "客群看板", "en": "Segments"},
    "lookup_query": {"zh": "用户 ID、手机号或邮箱", "en": "User id, phone or email"},
    "lookup_button": {"zh": "查询", "en": "Look up"},
    "lookup_reason": {"zh": "查询原因（记入审计日志）", "en": "Reason (recorded in the audit log)"},
    "no_matching_user": {"zh": "没有找到匹配的用户。", "en": "No matching user."},
    "value_card": {"zh": "价值卡片", "en": "Value card"},
    "score": {"zh": "价值分", "en": "Value score"},
    "segment": {"zh": "客群", "en": "Segment"},
    "predicted_spend": {"zh": "预计 12 个月消费", "en": "Predicted 12-month spend"},
    "p_alive": {"zh": "活跃概率", "en": "P(alive)"},
    "price_sensitivity": {"zh": "价格敏感度", "en": "Price sensitivity"},
    "churn_risk": {"zh": "流失风险", "en": "Churn risk"},
    "next_purchase": {"zh": "30 天内复购概率", "en": "Next purchase in 30 days"},
    "likely_categories": {"zh": "可能购买的品类", "en": "Likely categories"},
    "reasons_chart": {"zh": "评分原因（贡献）", "en": "Why this score (contributions)"},
    "timeline": {"zh": "购买时间线", "en": "Purchase timeline"},
    "profile": {"zh": "用户画像", "en": "Profile"},
    "recommend_for": {"zh": "推荐给 TA", "en": "What to recommend"},
    "segment_sizes": {"zh": "各客群人数", "en": "Segment sizes"},
    "revenue_share": {"zh": "收入占比", "en": "Revenue share"},
    "value_distribution": {
        "zh": "价值分布（预计 12 个月消费）",
        "en": "Value distribution (predicted 12-month spend)",
    },
    "users": {"zh": "人数", "en": "Users"},
    "spend_band": {"zh": "预计消费区间", "en": "Predicted spend band"},
    "refresh": {"zh": "刷新", "en": "Refresh"},
    "campaign_export": {"zh": "营销活动导出", "en": "Campaign export"},
    "campaign_segment": {"zh": "目标客群", "en": "Target segment"},
    "export_button": {"zh": "导出 CSV", "en": "Export CSV"},
    "export_contacts": {
        "zh": "包含真实联系方式（解密，记入审计）",
        "en": "Include real contacts (decrypted, audited)",
    },
    "staff_chat_tab": {"zh": "助手", "en": "Assistant"},
    "staff_chat_hint": {
        "zh": "以客服身份提问，例如：为什么这个用户是高价值客户？",
        "en": "Ask as staff, e.g. why does this user score as high value?",
    },
    "signed_in_as": {"zh": "已登录：", "en": "Signed in as "},
    "logout": {"zh": "退出登录", "en": "Sign out"},
    "widget_open": {"zh": "导购助手", "en": "Shopping help"},
    "widget_close": {"zh": "关闭", "en": "Close"},
    "token_invalid": {
        "zh": "身份令牌无效或已过期，请刷新页面后重试。",
        "en": "Your sign-in token is invalid or has expired; please reload the page.",
    },
    "shop_name": {"zh": "演示小店", "en": "Demo Shop"},
    "shop_tagline": {
        "zh": "精选好物，导购助手在右下角。",
        "en": "Hand-picked goods. The shopping assistant is bottom right.",
    },
    "add_to_cart": {"zh": "加入购物车", "en": "Add to cart"},
    # ---- the guided agent's templated replies ----
    "list_header": {"zh": "为您挑选了{n}款商品{budget}：", "en": "Here are {n} picks for you{budget}:"},
    "list_header_cat": {
        "zh": "为您挑选了{n}款{category}{budget}：",
        "en": "Here are {n} {category} picks for you{budget}:",
    },
    "not_carried": {
        "zh": "本店似乎没有“{asked}”。最接近的{what}：",
        "en": "We don't seem to carry {asked}. The closest {what} we have:",
    },
    "products_word": {"zh": "商品", "en": "products"},
    "no_results": {
        "zh": "抱歉，没有找到符合条件的商品{budget}。可以放宽预算或换个品类试试。",
        "en": "Sorry, I couldn't find matching products{budget}. Try a wider budget or another category.",
    },
    "greeting": {
        "zh": "您好！我是购物助手ShopGuide，可以为您推荐商品、按预算搜索、对比商品和查询订单。今天想买点什么？",
        "en": "Hi! I'm ShopGuide. I can recommend products, search within a budget, compare items and check your orders. What are you looking for today?",
    },
    "off_topic": {
        "zh": "抱歉，我只能帮您处理购物相关的问题：商品推荐、搜索、对比和订单查询。",
        "en": "Sorry, I can only help with shopping here: recommendations, product search, comparisons and orders.",
    },
    "injection": {
        "zh": "抱歉，我不能执行改变我工作方式或泄露他人信息的指令，但很乐意帮您购物。",
        "en": "I can't follow instructions that change how I work or reveal other people's data, but I'm happy to help you shop.",
    },
    "clarify": {
        "zh": "很乐意帮您！您想看哪一类商品（比如{examples}）？有大概的预算吗？",
        "en": "Happy to help! Which kind of product are you looking for (for example {examples}), and do you have a budget in mind?",
    },
    "clarify_compare": {
        "zh": "您想对比哪几款商品？请告诉我列表中的序号或商品编号。",
        "en": "Which products should I compare? Tell me their numbers from the list or their ids.",
    },
    "clarify_product": {
        "zh": "您指的是哪一款商品？请告诉我列表中的序号或商品编号。",
        "en": "Which product do you mean? Tell me its number from the list or its id.",
    },
    "access_denied": {
        "zh": "抱歉，我只能查询您本人账户的信息。",
        "en": "Sorry, I can only look up your own account's information.",
    },
    "bad_request": {
        "zh": "抱歉，我没能理解这个请求，请换个说法或告诉我商品名称、预算。",
        "en": "Sorry, I couldn't work with that request. Try rephrasing it, or tell me a product and a budget.",
    },
    "not_found": {
        "zh": "抱歉，没有找到相关信息，请核对编号后再试。",
        "en": "Sorry, I couldn't find that. Please check the number and try again.",
    },
    "unavailable": {
        "zh": "抱歉，该服务暂时不可用，请稍后再试。",
        "en": "Sorry, that service is unavailable right now. Please try again in a moment.",
    },
    "fallback": {
        "zh": "抱歉，我这边出了点问题，请稍后再试。",
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
    },
    "unsupported": {
        "en": "Sorry, I can't do that here: I can recommend and compare products, search within a budget and "
        "check your orders' status. For refunds, returns, cancellations or address changes please contact "
        "customer service.",
        "zh": "抱歉，这个我办不到：我可以为您推荐和对比商品、按预算搜索、查询订单状态。退款、退货、取消订单或修改地址"
        "需要由人工客服处理。",
    },
    "not_sold": {
        "en": "Sorry, we don't sell that in this shop. We have, for example, {examples}. Can I help you with one "
        "of those?",
        "zh": "抱歉，我们店里没有这类商品。我们有{examples}等，需要看看吗？",
    },
    "staff_only_user": {
        "zh": "请问要查看哪位客户？请提供用户编号。",
        "en": "Which customer should I look at? Please give their user id.",
    },
}

SEGMENT_LABELS: dict[Segment, Bilingual] = {
    Segment.vip: {"zh": "VIP / 高价值", "en": "VIP / premium"},
    Segment.loyal: {"zh": "忠诚客户", "en": "Loyal"},
    Segment.promising: {"zh": "潜力 / 新客", "en": "Promising / new"},
    Segment.price_sensitive: {"zh": "价格敏感", "en": "Price-sensitive"},
    Segment.at_risk: {"zh": "流失风险", "en": "At risk"},
    Segment.lapsed: {"zh": "已流失", "en": "Lapsed"},
}

# The value engine's features, as the reasons of a score name them.
FEATURE_LABELS: dict[str, Bilingual] = {
    "frequency": {"zh": "复购次数", "en": "repeat purchases"},
    "recency": {"zh": "首末次购买间隔", "en": "time between first and last purchase"},
    "T": {"zh": "首次购买至今", "en": "time since first purchase"},
    "monetary": {"zh": "复购平均金额", "en": "average repeat order value"},
    "n_purchase_days": {"zh": "购买天数", "en": "purchase days"},
    "n_orders": {"zh": "订单数", "en": "number of orders"},
    "total_spend": {"zh": "累计消费", "en": "total spend"},
    "first_spend": {"zh": "首单金额", "en": "first order value"},
    "last_spend": {"zh": "最近一单金额", "en": "last order value"},
    "max_day_spend": {"zh": "单日最高消费", "en": "largest day of spend"},
    "avg_order_value": {"zh": "平均订单金额", "en": "average order value"},
    "days_since_last": {"zh": "距上次购买天数", "en": "days since last purchase"},
    "tenure_days": {"zh": "成为客户天数", "en": "days as a customer"},
    "ipt_mean": {"zh": "平均购买间隔（天）", "en": "average days between purchases"},
    "ipt_std": {"zh": "购买间隔波动", "en": "regularity of purchases"},
    "spend_trend": {"zh": "消费趋势", "en": "spend trend"},
    "spend_last_90d": {"zh": "近90天消费", "en": "spend in the last 90 days"},
    "spend_last_180d": {"zh": "近180天消费", "en": "spend in the last 180 days"},
    "spend_last_365d": {"zh": "近365天消费", "en": "spend in the last 365 days"},
    "orders_last_90d": {"zh": "近90天购买天数", "en": "purchase days in the last 90 days"},
    "orders_last_180d": {"zh": "近180天购买天数", "en": "purchase days in the last 180 days"},
    "orders_last_365d": {"zh": "近365天购买天数", "en": "purchase days in the last 365 days"},
    "items_per_day": {"zh": "每次购买件数", "en": "items per purchase day"},
    "discount_share": {"zh": "折扣金额占比", "en": "share of money saved by discounts"},
    "discounted_line_share": {"zh": "折扣商品占比", "en": "share of discounted items"},
    "price_tier_mean": {"zh": "常购价位", "en": "usual price tier"},
    "price_tier_max": {"zh": "最高购买价位", "en": "highest price tier bought"},
    "category_breadth": {"zh": "购买品类数", "en": "number of categories bought"},
    "return_share": {"zh": "退货占比", "en": "share of returned items"},
    "return_amount_share": {"zh": "退货金额占比", "en": "share of spend returned"},
    "p_alive": {"zh": "仍活跃概率", "en": "probability still active"},
    "gg_avg_spend": {"zh": "预期客单价", "en": "expected order value"},
    "n_events": {"zh": "站内活动次数", "en": "site activity"},
    "n_views": {"zh": "商品浏览次数", "en": "product views"},
    "n_clicks": {"zh": "商品点击次数", "en": "product clicks"},
    "n_searches": {"zh": "搜索次数", "en": "searches"},
    "n_carts": {"zh": "加购次数", "en": "add-to-cart actions"},
    "n_purchase_events": {"zh": "下单事件数", "en": "checkout events"},
    "n_sessions": {"zh": "访问次数", "en": "visits"},
    "view_to_click": {"zh": "浏览点击率", "en": "view-to-click rate"},
    "click_to_cart": {"zh": "点击加购率", "en": "click-to-cart rate"},
    "cart_to_purchase": {"zh": "加购转化率", "en": "cart-to-purchase rate"},
    "view_to_purchase": {"zh": "浏览转化率", "en": "view-to-purchase rate"},
    "events_last_30d": {"zh": "近30天站内活动", "en": "site activity in the last 30 days"},
    "events_last_90d": {"zh": "近90天站内活动", "en": "site activity in the last 90 days"},
    "carts_last_30d": {"zh": "近30天加购", "en": "add-to-cart in the last 30 days"},
    "sessions_last_30d": {"zh": "近30天访问次数", "en": "visits in the last 30 days"},
    "days_since_last_event": {"zh": "距上次访问天数", "en": "days since last visit"},
    "deal_search_share": {"zh": "搜索优惠占比", "en": "share of deal searches"},
    "premium_search_share": {"zh": "搜索高端商品占比", "en": "share of premium searches"},
    "gift_search_share": {"zh": "搜索礼品占比", "en": "share of gift searches"},
    "n_reviews": {"zh": "评价数", "en": "reviews written"},
    "avg_rating": {"zh": "平均评分", "en": "average rating given"},
    "low_rating_share": {"zh": "差评占比", "en": "share of low ratings"},
    "complaint_share": {"zh": "投诉类评价占比", "en": "share of complaints"},
    "days_since_last_review": {"zh": "距上次评价天数", "en": "days since last review"},
    "prof_price_sensitivity": {"zh": "价格敏感度", "en": "price sensitivity"},
    "prof_satisfaction": {"zh": "满意度", "en": "satisfaction"},
    "prof_intent_ready": {"zh": "有购买意向", "en": "ready to buy"},
    "prof_intent_support": {"zh": "需要售后支持", "en": "needs support"},
    "signup_age_days": {"zh": "注册天数", "en": "days since sign-up"},
    "repeat_rate": {"zh": "复购频率", "en": "repeat purchase rate"},
    "recency_share": {
        "zh": "最近购买在客户期中的位置",
        "en": "how recent the last purchase is in the tenure",
    },
    "rfm_rate": {"zh": "复购频率×近度", "en": "repeat rate x recency"},
    "orders_per_month": {"zh": "月均购买次数", "en": "purchases per month"},
}
# BTYD columns carry their horizon in the name (``bg_purchases_365d`` ...): labelled by prefix.
FEATURE_PREFIX_LABELS: dict[str, Bilingual] = {
    "bg_purchases_": {"zh": "预期购买次数（BG/NBD）", "en": "expected purchases (BG/NBD)"},
    "bg_p_buy_": {"zh": "再次购买概率（BG/NBD）", "en": "chance of buying again (BG/NBD)"},
    "btyd_spend_": {"zh": "预期消费（BG/NBD×Gamma-Gamma）", "en": "expected spend (BG/NBD x Gamma-Gamma)"},
}

INTENT_LABELS: dict[str, Bilingual] = {
    "browsing": {"zh": "随便看看", "en": "browsing"},
    "comparing": {"zh": "比较中", "en": "comparing"},
    "ready_to_buy": {"zh": "准备购买", "en": "ready to buy"},
    "gift": {"zh": "买礼物", "en": "buying a gift"},
    "support": {"zh": "需要售后", "en": "needs support"},
    "unknown": {"zh": "未知", "en": "unknown"},
}

ORDER_STATUS_LABELS: dict[OrderStatus, Bilingual] = {
    OrderStatus.placed: {"zh": "已下单，待付款", "en": "placed, awaiting payment"},
    OrderStatus.paid: {"zh": "已付款，待发货", "en": "paid, preparing shipment"},
    OrderStatus.shipped: {"zh": "已发货，运输中", "en": "shipped, on its way"},
    OrderStatus.delivered: {"zh": "已送达", "en": "delivered"},
    OrderStatus.returned: {"zh": "已退货", "en": "returned"},
    OrderStatus.cancelled: {"zh": "已取消", "en": "cancelled"},
}

PRICE_TIER_LABELS: dict[PriceTier, Bilingual] = {
    PriceTier.budget: {"zh": "实惠", "en": "budget"},
    PriceTier.mid: {"zh": "中端", "en": "mid-range"},
    PriceTier.premium: {"zh": "高端", "en": "premium"},
    PriceTier.luxury: {"zh": "奢华", "en": "luxury"},
}


def normalize_lang(value: str | None) -> Language:
    """Map a browser locale or Accept-Language header (``zh-CN``, ``en-US,en;q=0.9``) to ``zh``/``en``."""
    if not value:
        return "en"
    return "zh" if value.strip().lower().startswith("zh") else "en"


_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def detect_language(text: str, default: Language = "en") -> Language:
    """Chinese when CJK characters make up a real share of the letters (ids and brand names are latin)."""
    cjk = len(_CJK_RE.findall(text))
    latin_words = len(re.findall(r"[A-Za-z]{2,}", text))
    if cjk == 0 and latin_words == 0:
        return default
    return "zh" if cjk >= max(2, latin_words) or (cjk and not latin_words) else "en"


def money(value: float | None) -> str:
    """A price exactly as stored, to the cent (¥109.65, ¥2,324.00): never rounded, on cards and in replies alike."""
    return "" if value is None else f"¥{value:,.2f}"


def t(key: str, lang: str, **fmt: object) -> str:
    """The text for ``key`` in ``lang`` (English when the language is unknown)."""
    text = TEXT[key][normalize_lang(lang)]
    return text.format(**fmt) if fmt else text


def _pick(labels: Bilingual | None, lang: str, fallback: str) -> str:
    return labels[normalize_lang(lang)] if labels else fallback


def segment_label(segment: str, lang: str) -> str:
    return _pick(SEGMENT_LABELS.get(segment), lang, segment)  # type: ignore[call-overload]


def feature_label(name: str, lang: str) -> str:
    labels = FEATURE_LABELS.get(name) or next(
        (v for prefix, v in FEATURE_PREFIX_LABELS.items() if name.startswith(prefix)), None
    )
    return _pick(labels, lang, name.replace("_", " "))


def intent_label(intent: str, lang: str) -> str:
    return _pick(INTENT_LABELS.get(intent), lang, intent)


def order_status_label(status: str, lang: str) -> str:
    return _pick(ORDER_STATUS_LABELS.get(status), lang, status)  # type: ignore[call-overload]


def price_tier_label(tier: str, lang: str) -> str:
    return _pick(PRICE_TIER_LABELS.get(tier), lang, tier)  # type: ignore[call-overload]


def category_label(slug: str, lang: str, zh_name: str | None = None) -> str:
    """A category as shoppers read it: the catalog's Chinese name in Chinese, the slug's words in English."""
    if normalize_lang(lang) == "zh" and zh_name:
        return zh_name
    return slug.replace("-", " ")
