"""Interface text in Chinese and English, and how a page picks its language.

Every surface (shopper chat, staff console, widget, API errors) reads its words from ``TEXT`` so the two languages
never drift apart. Pages start in the browser's language (``navigator.language``) and offer a switch.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, Lang] = ("zh", "en")
LANG_CHOICES: list[tuple[str, str]] = [("中文", "zh"), ("English", "en")]

# Runs in the browser on page load; its return value sets the language switch.
DETECT_LANG_JS = "() => ((navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en')"

TEXT: dict[str, dict[Lang, str]] = {
    # shared
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
    # shopper chat
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
    # staff console
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
    "not_found": {"zh": "没有找到匹配的用户。", "en": "No matching user."},
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
    # widget
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
}

SEGMENT_LABELS: dict[str, dict[Lang, str]] = {
    "vip": {"zh": "高价值 VIP", "en": "VIP"},
    "loyal": {"zh": "忠诚客户", "en": "Loyal"},
    "promising": {"zh": "潜力/新客", "en": "Promising"},
    "price_sensitive": {"zh": "价格敏感", "en": "Price-sensitive"},
    "at_risk": {"zh": "流失风险", "en": "At risk"},
    "lapsed": {"zh": "已流失", "en": "Lapsed"},
}

# Example prompts shown under the chat, in both languages whatever the switch says: shoppers mix them.
EXAMPLE_PROMPTS: list[str] = [
    "推荐一双 500 元以内的跑鞋",
    "我最近的订单到哪了？",
    "Recommend headphones under 800",
    "Compare your two best-rated coffee makers",
]


def t(key: str, lang: str, **fmt: object) -> str:
    """The text for ``key`` in ``lang`` (English when the language is unknown)."""
    entry = TEXT[key]
    text = entry.get(normalize_lang(lang), entry["en"])
    return text.format(**fmt) if fmt else text


def segment_label(segment: str, lang: str) -> str:
    labels = SEGMENT_LABELS.get(segment)
    return labels[normalize_lang(lang)] if labels else segment


def normalize_lang(value: str | None) -> Lang:
    """Map a browser locale or Accept-Language header (``zh-CN``, ``en-US,en;q=0.9``) to ``zh``/``en``."""
    if not value:
        return "en"
    return "zh" if value.strip().lower().startswith("zh") else "en"
